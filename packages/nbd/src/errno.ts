import { BlockError, isBlockError } from '@blk/core';
import { Errno } from './constants.js';

const NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(Errno).map(([name, value]) => [value, name]));

export function errnoName(errno: number): string {
  return NAMES[errno] ?? `errno ${errno}`;
}

/**
 * The NBD error for a device failure (the NBD protocol's "Error values", doc/proto.md; nbdkit's
 * choices where it leaves room): read-only → EPERM; a range past the end →
 * ENOSPC for writes and zeroes, EINVAL otherwise; bad arguments → EINVAL; unsupported → ENOTSUP;
 * a disconnected device → ESHUTDOWN; anything else → EIO.
 */
export function errnoFor(error: unknown, writeLike: boolean): number {
  if (!isBlockError(error)) return Errno.EIO;
  switch (error.code) {
    case 'READ_ONLY':
      return Errno.EPERM;
    case 'OUT_OF_RANGE':
      return writeLike ? Errno.ENOSPC : Errno.EINVAL;
    case 'INVALID_ARGUMENT':
    case 'INVALID_BUFFER':
      return Errno.EINVAL;
    case 'UNSUPPORTED':
      return Errno.ENOTSUP;
    case 'DISCONNECTED':
      return Errno.ESHUTDOWN;
    case 'IO':
      return Errno.EIO;
  }
}

/** The error a server's NBD error value becomes on the client side. */
export class NbdRemoteError extends Error {
  override readonly name = 'NbdRemoteError';
  constructor(
    readonly errno: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A BlockError for an error the server returned: EPERM → READ_ONLY, ENOTSUP → UNSUPPORTED,
 * everything else → IO, with an NbdRemoteError (errno and the server's message) as `cause`.
 */
export function blockErrorFor(errno: number, message: string, what: string): BlockError {
  const detail = message ? `${errnoName(errno)}: ${message}` : errnoName(errno);
  const cause = new NbdRemoteError(errno, detail);
  const text = `${what} failed on the NBD server (${detail})`;
  if (errno === Errno.EPERM) return new BlockError('READ_ONLY', text, { cause });
  if (errno === Errno.ENOTSUP) return new BlockError('UNSUPPORTED', text, { cause });
  return BlockError.io(text, cause);
}
