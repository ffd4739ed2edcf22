import { BlockError, isBlockError, type BlockErrorCode } from '@blk/core';

/**
 * Why an HTTP image failed, beyond the BlockError code:
 * - `NO_RANGES`: the server does not serve byte ranges (`Accept-Ranges: none`, or a `200` with the
 *   whole file in answer to a `Range` request);
 * - `CHANGED`: the image is not the one opened (another `ETag`, `Last-Modified` or length);
 * - `STATUS`: an HTTP status that is not a transient failure (404, 403…), or a transient one
 *   (5xx, 429, 408) still failing after every retry;
 * - `TIMEOUT`: no response headers or body bytes for `timeoutMs`, after every retry;
 * - `NETWORK`: the connection failed or dropped, after every retry;
 * - `BAD_RESPONSE`: a response that cannot be the bytes asked for (wrong `Content-Range`, too
 *   long a body, a content encoding).
 */
export type HttpFailure = 'NO_RANGES' | 'CHANGED' | 'STATUS' | 'TIMEOUT' | 'NETWORK' | 'BAD_RESPONSE';

/** A BlockError (code `IO`, or `UNSUPPORTED` for a server without ranges at connect) saying what went wrong over HTTP. */
export class HttpDeviceError extends BlockError {
  readonly reason: HttpFailure;
  /** The HTTP status, when a response said it. */
  readonly status: number | undefined;
  readonly url: string;

  constructor(
    code: BlockErrorCode,
    reason: HttpFailure,
    url: string,
    message: string,
    options: { status?: number | undefined; cause?: unknown } = {},
  ) {
    super(code, `${url}: ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
    this.status = options.status;
    this.url = url;
  }
}

/** True for an {@link HttpDeviceError} (also from another copy of this package), of `reason` when given. */
export function isHttpDeviceError(value: unknown, reason?: HttpFailure): value is HttpDeviceError {
  if (!isBlockError(value)) return false;
  const actual = (value as { reason?: unknown }).reason;
  return typeof actual === 'string' && (reason === undefined || actual === reason);
}
