import { isBlockError, thrownMessage } from '@blk/core';

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  EADDRINUSE: 'address already in use',
  ECONNREFUSED: 'connection refused',
  ENOSPC: 'no space left on device',
};

function errnoOf(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code in ERRNO_TEXT) return code;
  }
  return undefined;
}

/** One line for a user: the system error when there is one, else the error's own message. */
export function describeError(error: unknown): string {
  const errno = errnoOf(error);
  if (errno !== undefined) return `${ERRNO_TEXT[errno]!} (${errno})`;
  if (isBlockError(error)) return `${error.message} (${error.code})`;
  return thrownMessage(error);
}
