import { Command, CommandFlag, Errno } from './constants.js';
import { canZeroFast } from './export-flags.js';
import type { Negotiated } from './server-handshake.js';
import type { RequestHeader } from './transmission-codec.js';

/** Why a request is refused: the errno to answer with and a message for the error chunk. */
export interface RequestRefusal {
  readonly errno: number;
  readonly message: string;
}

/** What a command may carry and how its range is checked. */
interface CommandRule {
  readonly flags: (n: Negotiated) => number;
  /** Writes: refused on a read-only export, and past the end is `spaceError`, not EINVAL. */
  readonly writeLike: boolean;
  /** Offset and length must be whole sectors. */
  readonly aligned: boolean;
  readonly spaceError?: number;
  /** The command's own checks, after the common ones. */
  readonly extra?: (header: RequestHeader, n: Negotiated) => RequestRefusal | undefined;
  /** Checks before the common ones. */
  readonly first?: (header: RequestHeader, n: Negotiated) => RequestRefusal | undefined;
}

const refusal = (errno: number, message: string): RequestRefusal => ({ errno, message });

const RULES: ReadonlyMap<number, CommandRule> = new Map<number, CommandRule>([
  [
    Command.READ,
    {
      flags: (n) => CommandFlag.FUA | (n.structured ? CommandFlag.DF : 0),
      writeLike: false,
      aligned: true,
      extra: (h, n) => (h.length > n.maxPayload ? refusal(Errno.EINVAL, `a READ of ${h.length} bytes is over the maximum`) : undefined),
    },
  ],
  [Command.WRITE, { flags: () => CommandFlag.FUA, writeLike: true, aligned: true }],
  [
    Command.FLUSH,
    {
      flags: () => CommandFlag.FUA,
      writeLike: false,
      aligned: false,
      // As nbdkit: a FLUSH covers the whole export, so its offset and length must be 0.
      extra: (h) => (h.offset !== 0 || h.length !== 0 ? refusal(Errno.EINVAL, 'FLUSH needs offset and length 0') : undefined),
    },
  ],
  [
    Command.TRIM,
    {
      flags: () => CommandFlag.FUA,
      writeLike: true,
      aligned: false,
      spaceError: Errno.EINVAL,
      extra: (_h, n) => {
        const device = n.export.device;
        return typeof device.discard === 'function' && device.supports.discard
          ? undefined
          : refusal(Errno.EINVAL, 'TRIM is not supported by this export');
      },
    },
  ],
  [Command.CACHE, { flags: () => CommandFlag.FUA, writeLike: false, aligned: false }],
  [
    Command.WRITE_ZEROES,
    {
      flags: () => CommandFlag.FUA | CommandFlag.NO_HOLE | CommandFlag.FAST_ZERO,
      writeLike: true,
      aligned: true,
      extra: (h, n) =>
        h.flags & CommandFlag.FAST_ZERO && !canZeroFast(n.export.device)
          ? refusal(Errno.ENOTSUP, 'zeroing is not faster than writing on this export')
          : undefined,
    },
  ],
  [
    Command.BLOCK_STATUS,
    {
      flags: () => CommandFlag.FUA | CommandFlag.REQ_ONE,
      writeLike: false,
      aligned: false,
      first: (_h, n) => (n.blockStatus ? undefined : refusal(Errno.EINVAL, 'no meta context was selected for this export')),
      extra: (h) => (h.length === 0 ? refusal(Errno.EINVAL, 'BLOCK_STATUS of length 0') : undefined),
    },
  ],
]);

/**
 * Checks one request against what was negotiated, before anything runs (nbdkit's
 * validate_request): unknown command → EINVAL; unknown flags → EINVAL; a write on a read-only
 * export → EPERM; past the end → ENOSPC for WRITE and WRITE_ZEROES, EINVAL otherwise; misaligned
 * READ, WRITE or WRITE_ZEROES → EINVAL; then each command's own rules. Undefined when it may run.
 * DISC never gets here.
 */
export function validateRequest(header: RequestHeader, n: Negotiated): RequestRefusal | undefined {
  const rule = RULES.get(header.type);
  if (!rule) return refusal(Errno.EINVAL, `unknown command ${header.type}`);
  const early = rule.first?.(header, n);
  if (early) return early;
  const { flags, offset, length } = header;
  if ((flags & ~rule.flags(n)) !== 0) return refusal(Errno.EINVAL, `flags 0x${flags.toString(16)} are not valid here`);
  if (rule.writeLike && !n.info.readWrite) return refusal(Errno.EPERM, 'the export is read-only');
  if (offset + length > n.sizeBytes) {
    return refusal(
      rule.writeLike ? (rule.spaceError ?? Errno.ENOSPC) : Errno.EINVAL,
      `[${offset}, +${length}) runs past the end (${n.sizeBytes})`,
    );
  }
  const sectorSize = n.info.sectorSize;
  if (rule.aligned && (offset % sectorSize !== 0 || length % sectorSize !== 0)) {
    return refusal(Errno.EINVAL, `[${offset}, +${length}) is not aligned to ${sectorSize} bytes`);
  }
  return rule.extra?.(header, n);
}
