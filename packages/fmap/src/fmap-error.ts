/** Why a BlockFile call was refused or a file could not be opened. */
export type FmapErrorCode =
  /** The BlockFile was closed (or removed). */
  | 'E_CLOSED'
  /** A lease is live: close, remove, free of that block, or a growth that could move the mapping. */
  | 'E_OUTSTANDING'
  /** An offset or block count outside the file, or a header or free-list block. */
  | 'E_RANGE'
  /** An offset that is not a multiple of the block size. */
  | 'E_ALIGN'
  /** A number that is not a safe integer, a bad option, a callback that returned a promise. */
  | 'E_ARGUMENT'
  /** `free` of a block that is already free. */
  | 'E_DOUBLE_FREE'
  /** `get`/`do` of a block that is free (or belongs to the free list). */
  | 'E_NOT_ALLOCATED'
  /** `get` of a range that overlaps a live lease. */
  | 'E_OVERLAP'
  /** A lease released twice, or its bytes used after release. */
  | 'E_RELEASED'
  /** Control data longer than CONTROL_DATA_CAPACITY. */
  | 'E_CTRL_TOO_LARGE'
  /** A block size that is not a positive multiple of 4096 (up to 64 MiB). */
  | 'E_BLOCKSIZE'
  /** `open` of a path that does not exist. */
  | 'E_NOENT'
  /** `open` of an empty file, or one shorter than its header says. */
  | 'E_SHORT'
  /** `open` of a file that is not a BlockFile. */
  | 'E_BAD_MAGIC'
  /** `open` of a BlockFile written by an unknown format version. */
  | 'E_VERSION'
  /** Both header copies, or a free-list page, fail their CRC-32. */
  | 'E_CHECKSUM'
  /** A header or free list whose checksum holds but whose contents contradict each other. */
  | 'E_CORRUPT'
  /** The file is locked by another live process. */
  | 'E_LOCKED'
  /** The mmap engine was asked for but the native addon is not built. */
  | 'E_NO_MMAP'
  /** An operation that needs a file on an anonymous BlockFile. */
  | 'E_ANONYMOUS'
  /** `openFmapDevice` of a BlockFile whose control data is not an fmap device's. */
  | 'E_NOT_DEVICE'
  /** The operating system refused a read, write, sync or resize; the error is in `cause`. */
  | 'E_IO';

/** Every misuse of a BlockFile and every unreadable file throws one of these, never a bare Error. */
export class FmapError extends Error {
  override readonly name = 'FmapError';
  readonly code: FmapErrorCode;

  constructor(code: FmapErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True for an FmapError (also one made by another copy of this package), optionally of one code. */
export function isFmapError(value: unknown, code?: FmapErrorCode): value is FmapError {
  if (!(value instanceof Error) || value.name !== 'FmapError') return false;
  const actual = (value as { code?: unknown }).code;
  return typeof actual === 'string' && (code === undefined || actual === code);
}

/** Wraps an operating-system error as E_IO, passing FmapErrors through. */
export function ioError(error: unknown, what: string): FmapError {
  if (isFmapError(error)) return error;
  const detail = error instanceof Error ? `: ${error.message}` : '';
  return new FmapError('E_IO', `${what}${detail}`, { cause: error });
}
