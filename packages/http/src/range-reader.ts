import { parseContentRange, rangeHeader } from './content-range.js';
import type { HttpClient } from './http-client.js';
import { HttpDeviceError } from './http-error.js';
import { isTransientStatus, transientStatus, TransientFailure } from './transient-failure.js';
import { ifRangeOf, versionMismatch, type ImageVersion } from './validators.js';

/**
 * Reads bytes [start, end) of the image with range requests, handing them to `onBytes` in order
 * as they arrive. A dropped connection, a timeout or a transient status is retried from the first
 * byte not yet handed over; every response is checked against `version` first, so bytes of two
 * versions are never mixed. Rejects with an HttpDeviceError (or DISCONNECTED after close).
 */
export async function readRange(
  client: HttpClient,
  version: ImageVersion,
  start: number,
  end: number,
  onBytes: (bytes: Uint8Array) => void,
): Promise<void> {
  let at = start;
  const ifRange = ifRangeOf(version);
  const fail = (reason: 'CHANGED' | 'NO_RANGES' | 'STATUS' | 'BAD_RESPONSE', message: string, status?: number) =>
    new HttpDeviceError('IO', reason, client.url, message, { status });
  await client.retrying(`reading bytes ${start}-${end - 1}`, () =>
    client.once(
      'GET',
      { range: rangeHeader(at, end), 'accept-encoding': 'identity', ...(ifRange === undefined ? {} : { 'if-range': ifRange }) },
      async (response, attempt) => {
        const changed = versionMismatch(version, response.headers);
        if (response.status === 200) {
          if (changed !== undefined) throw fail('CHANGED', `the image changed: ${changed}`, 200);
          throw fail('NO_RANGES', 'the server answered a range request with the whole file (200): it no longer serves byte ranges', 200);
        }
        if (response.status === 416 || response.status === 412) {
          const total = parseContentRange(response.headers.get('content-range'))?.total;
          const now = total === undefined ? '' : ` (it is ${total} bytes now, was ${version.size})`;
          throw fail('CHANGED', `the image changed: HTTP ${response.status} for a range that existed${now}`, response.status);
        }
        if (isTransientStatus(response.status)) throw transientStatus(response);
        if (response.status !== 206) throw fail('STATUS', `HTTP ${response.status} ${response.statusText}`.trimEnd(), response.status);
        if (changed !== undefined) throw fail('CHANGED', `the image changed: ${changed}`, 206);
        const encoding = response.headers.get('content-encoding');
        if (encoding !== null && encoding.toLowerCase() !== 'identity') {
          throw fail('BAD_RESPONSE', `the server encoded the range (${encoding}): byte offsets would not match`, 206);
        }
        const range = parseContentRange(response.headers.get('content-range'));
        if (range === undefined)
          throw fail('BAD_RESPONSE', `a 206 without a readable Content-Range (${response.headers.get('content-range') ?? 'none'})`, 206);
        if (range.total !== undefined && range.total !== version.size) {
          throw fail('CHANGED', `the image changed: it is ${range.total} bytes now, was ${version.size}`, 206);
        }
        if (range.first !== at || range.last !== end - 1) {
          throw fail('BAD_RESPONSE', `asked for bytes ${at}-${end - 1}, the server sent ${range.first ?? '?'}-${range.last ?? '?'}`, 206);
        }
        let failure: HttpDeviceError | undefined;
        // Stops at the last byte asked for rather than waiting for the end of the body (which
        // fetch does not always signal promptly for a chunked body); what a server sends past
        // Content-Range is never handed over.
        await response.consume((chunk) => {
          attempt.touch();
          if (chunk.byteLength > end - at) {
            failure = fail('BAD_RESPONSE', `the server sent more than the ${end - start} bytes asked for`, 206);
            return false;
          }
          at += chunk.byteLength;
          onBytes(chunk);
          return at < end;
        });
        if (failure !== undefined) throw failure;
        if (at < end) throw new TransientFailure('NETWORK', `the response ended after ${at - start} of ${end - start} bytes`);
      },
    ),
  );
}
