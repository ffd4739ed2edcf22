import { BlockError, type BlockErrorCode } from '@blk/core';

/** Why an overlay could not be opened on a top device. */
export type OverlayErrorReason =
  /** The top's header is neither blank (all zero) nor an overlay header. */
  | 'NOT_AN_OVERLAY'
  /** The header was written by a newer format version. */
  | 'UNSUPPORTED_VERSION'
  /** The header's checksum or fields, or an entry of the map, are damaged. */
  | 'CORRUPT'
  /** The base is not the size it was when the top was formatted. */
  | 'BASE_SIZE_CHANGED'
  /** The sector size or block size asked for differs from the one the top was formatted with. */
  | 'GEOMETRY_MISMATCH'
  /** The top cannot hold the header, the map and a copy of every block of the base. */
  | 'TOP_TOO_SMALL'
  /** The top is blank but read-only, so it cannot be formatted. */
  | 'TOP_NOT_FORMATTED';

/**
 * A BlockError (so `isBlockError` and `code` work as for every other failure) that also says
 * which rule of the overlay's on-top format was broken.
 */
export class OverlayError extends BlockError {
  readonly reason: OverlayErrorReason;

  constructor(code: BlockErrorCode, reason: OverlayErrorReason, message: string, options?: { cause?: unknown }) {
    super(code, `overlay: ${message}`, options);
    this.reason = reason;
  }
}

export function isOverlayError(value: unknown, reason?: OverlayErrorReason): value is OverlayError {
  return value instanceof OverlayError && (reason === undefined || value.reason === reason);
}
