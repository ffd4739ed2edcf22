import { BlockError, type BlockErrorCode } from '@blk/core';

/** What the addon rejects with: the errno name librbd returned as `code`, its number as `errno`. */
interface NativeError extends Error {
  readonly code?: string;
  readonly errno?: number;
}

/**
 * How each errno librbd/librados can return maps onto @blk's error codes. Anything not listed
 * (EIO, ETIMEDOUT from `rados_osd_op_timeout`, ENOSPC, EDQUOT, ESHUTDOWN when this client was
 * blocklisted, ECONNREFUSED…) is an `IO` error carrying the original as `cause`.
 */
export const ERRNO_CODES: Readonly<Record<string, BlockErrorCode>> = Object.freeze({
  EROFS: 'READ_ONLY',
  EPERM: 'READ_ONLY',
  EACCES: 'READ_ONLY',
  EINVAL: 'INVALID_ARGUMENT',
  ENAMETOOLONG: 'INVALID_ARGUMENT',
  EEXIST: 'INVALID_ARGUMENT',
  ENOTEMPTY: 'INVALID_ARGUMENT',
  EDOM: 'INVALID_ARGUMENT',
  ERANGE: 'OUT_OF_RANGE',
  EFBIG: 'OUT_OF_RANGE',
  EOVERFLOW: 'OUT_OF_RANGE',
  E2BIG: 'OUT_OF_RANGE',
  EOPNOTSUPP: 'UNSUPPORTED',
  ENOSYS: 'UNSUPPORTED',
  EXDEV: 'UNSUPPORTED',
});

/** The errno name of an addon error, or undefined for anything else. */
export function errnoOf(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as NativeError).code;
  return typeof code === 'string' && code.startsWith('E') ? code : undefined;
}

/** A BlockError for an addon failure (`what` says what was being done), by {@link ERRNO_CODES}. */
export function rbdError(error: unknown, what: string): BlockError {
  if (error instanceof BlockError) return error;
  const errno = errnoOf(error);
  // Never String() an arbitrary thrown value: its toString may itself throw.
  const detail =
    error instanceof Error ? error.message : typeof error === 'string' ? error : `a thrown ${error === null ? 'null' : typeof error}`;
  const code = (errno === undefined ? undefined : ERRNO_CODES[errno]) ?? 'IO';
  return new BlockError(code, `${what}: ${detail}${errno ? ` (${errno})` : ''}`, { cause: error });
}

/** A BlockError for a completion's negative result. */
export function resultError(result: number, what: string): BlockError {
  const errno = -result;
  const name = ERRNO_NAMES[errno] ?? `errno ${errno}`;
  const cause = Object.assign(new Error(`${what} failed: ${name}`), { code: name, errno });
  return rbdError(cause, what);
}

/** Linux errno numbers librbd completions report, by name. */
const ERRNO_NAMES: Readonly<Record<number, string>> = Object.freeze({
  1: 'EPERM',
  2: 'ENOENT',
  5: 'EIO',
  6: 'ENXIO',
  7: 'E2BIG',
  11: 'EAGAIN',
  12: 'ENOMEM',
  13: 'EACCES',
  16: 'EBUSY',
  17: 'EEXIST',
  18: 'EXDEV',
  22: 'EINVAL',
  27: 'EFBIG',
  28: 'ENOSPC',
  30: 'EROFS',
  33: 'EDOM',
  34: 'ERANGE',
  36: 'ENAMETOOLONG',
  38: 'ENOSYS',
  39: 'ENOTEMPTY',
  61: 'ENODATA',
  62: 'ETIME',
  75: 'EOVERFLOW',
  95: 'EOPNOTSUPP',
  103: 'ECONNABORTED',
  104: 'ECONNRESET',
  107: 'ENOTCONN',
  108: 'ESHUTDOWN',
  110: 'ETIMEDOUT',
  111: 'ECONNREFUSED',
  113: 'EHOSTUNREACH',
  122: 'EDQUOT',
  125: 'ECANCELED',
});
