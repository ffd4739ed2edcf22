import { parseContentRange } from './content-range.js';
import type { HttpClient } from './http-client.js';
import { HttpDeviceError } from './http-error.js';
import { isTransientStatus, transientStatus } from './transient-failure.js';
import type { TransportResponse } from './transport.js';
import { validatorsOf, type ImageVersion } from './validators.js';

interface HeadAnswer {
  readonly etag: string | undefined;
  readonly lastModified: string | undefined;
}

function noRanges(client: HttpClient, why: string, status?: number): HttpDeviceError {
  return new HttpDeviceError(
    'UNSUPPORTED',
    'NO_RANGES',
    client.url,
    `the server does not serve byte ranges (${why}); a remote image needs them`,
    { status },
  );
}

function statusError(client: HttpClient, what: string, response: TransportResponse): HttpDeviceError {
  return new HttpDeviceError('IO', 'STATUS', client.url, `${what}: HTTP ${response.status} ${response.statusText}`.trimEnd(), {
    status: response.status,
  });
}

/** HEAD: refuses `Accept-Ranges: none` before anything is downloaded. Undefined when the server has no HEAD. */
async function head(client: HttpClient): Promise<HeadAnswer | undefined> {
  return client.retrying('HEAD', () =>
    client.once('HEAD', { 'accept-encoding': 'identity' }, (response) => {
      if (response.status === 405 || response.status === 501) return undefined;
      if (isTransientStatus(response.status)) throw transientStatus(response);
      if (response.status < 200 || response.status > 299) throw statusError(client, 'HEAD', response);
      if (response.headers.get('accept-ranges')?.trim().toLowerCase() === 'none')
        throw noRanges(client, 'Accept-Ranges: none', response.status);
      return validatorsOf(response.headers);
    }),
  );
}

/**
 * What `connect` learns before it hands out a device: the image's length (from the Content-Range
 * of a one-byte range request) and its validators, after checking that the server serves ranges
 * at all: `Accept-Ranges: none` on HEAD, or a 200 answer to the range request, is refused with an
 * UNSUPPORTED HttpDeviceError (reason NO_RANGES) without reading the body.
 */
export async function probe(client: HttpClient): Promise<ImageVersion> {
  const fromHead = await head(client);
  return client.retrying('a one-byte range request', () =>
    client.once('GET', { range: 'bytes=0-0', 'accept-encoding': 'identity' }, async (response): Promise<ImageVersion> => {
      if (isTransientStatus(response.status)) throw transientStatus(response);
      if (response.status === 200) throw noRanges(client, 'it answered a range request with the whole file', 200);
      const range = parseContentRange(response.headers.get('content-range'));
      let size: number | undefined;
      if (response.status === 206) {
        if (range?.first !== 0 || range.last !== 0) {
          throw new HttpDeviceError(
            'IO',
            'BAD_RESPONSE',
            client.url,
            `asked for byte 0, got Content-Range ${response.headers.get('content-range') ?? 'none'}`,
            { status: 206 },
          );
        }
        size = range.total;
      } else if (response.status === 416 && range?.total === 0) {
        size = 0;
      } else {
        throw statusError(client, 'a one-byte range request', response);
      }
      if (size === undefined)
        throw new HttpDeviceError('IO', 'BAD_RESPONSE', client.url, 'the server does not say how long the image is (Content-Range */…)', {
          status: 206,
        });
      // Read (one byte, or an empty 416 body) so the connection stays open for the next request.
      await response.consume(() => true);
      const validators = validatorsOf(response.headers);
      return {
        size,
        etag: validators.etag ?? fromHead?.etag,
        lastModified: validators.lastModified ?? fromHead?.lastModified,
      };
    }),
  );
}
