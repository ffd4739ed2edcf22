/** Every expected failure of a block device carries one of these codes. */
export type BlockErrorCode = 'DISCONNECTED' | 'READ_ONLY' | 'OUT_OF_RANGE' | 'INVALID_BUFFER' | 'INVALID_ARGUMENT' | 'UNSUPPORTED' | 'IO';

export const BLOCK_ERROR_CODES: readonly BlockErrorCode[] = Object.freeze([
  'DISCONNECTED',
  'READ_ONLY',
  'OUT_OF_RANGE',
  'INVALID_BUFFER',
  'INVALID_ARGUMENT',
  'UNSUPPORTED',
  'IO',
]);

export class BlockError extends Error {
  override readonly name = 'BlockError';
  readonly code: BlockErrorCode;

  constructor(code: BlockErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  static disconnected(what = 'device'): BlockError {
    return new BlockError('DISCONNECTED', `${what} is disconnected`);
  }

  static readOnly(what = 'device'): BlockError {
    return new BlockError('READ_ONLY', `${what} is read-only`);
  }

  static unsupported(operation: string): BlockError {
    return new BlockError('UNSUPPORTED', `${operation} is not supported by this device`);
  }

  static io(message: string, cause?: unknown): BlockError {
    return new BlockError('IO', message, cause === undefined ? undefined : { cause });
  }
}

/**
 * True for a BlockError, also one made by another copy of @blk/core (two versions installed
 * side by side), so callers never depend on `instanceof` across package copies.
 */
export function isBlockError(value: unknown, code?: BlockErrorCode): value is BlockError {
  if (!(value instanceof Error) || value.name !== 'BlockError') return false;
  const actual = (value as { code?: unknown }).code;
  if (typeof actual !== 'string' || !BLOCK_ERROR_CODES.includes(actual as BlockErrorCode)) return false;
  return code === undefined || actual === code;
}

/** Passes a BlockError through; wraps anything else as an `IO` error with the original as `cause`. */
export function toBlockError(value: unknown, message: string): BlockError {
  if (isBlockError(value)) return value;
  const detail = value instanceof Error ? `: ${value.message}` : '';
  return BlockError.io(`${message}${detail}`, value);
}

/**
 * The text of a thrown value, for a log line or an error reply: an Error's message, else what
 * `String()` makes of it. A value `String()` cannot convert (a null prototype, a `toString` that
 * is not a function or that throws) gives `fallback` instead of a second throw.
 */
export function thrownMessage(value: unknown, fallback = 'a thrown value that is not an Error'): string {
  try {
    return value instanceof Error ? value.message : String(value);
  } catch {
    return fallback;
  }
}
