import { BlockError } from '@blk/core';
import { HttpClient } from './http-client.js';
import { HttpDevice } from './http-device.js';
import { resolveOptions, type HttpOptions } from './options.js';
import { probe } from './probe.js';

/**
 * Opens the image at `url` (http: or https:) as a read-only BlockDevice. Asks the server for the
 * image's length and validators first, and refuses a server that does not serve byte ranges
 * (UNSUPPORTED, reason NO_RANGES) or answers with an error (IO, reason STATUS, NETWORK…).
 */
export async function connect(url: string | URL, options: HttpOptions = {}): Promise<HttpDevice> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new BlockError('INVALID_ARGUMENT', `not a URL: ${String(url)}`, { cause: error });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new BlockError('INVALID_ARGUMENT', `${parsed.protocol} URLs are not HTTP: ${parsed.href}`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new BlockError(
      'INVALID_ARGUMENT',
      'credentials in the URL are not sent by fetch: pass an Authorization header in options.headers',
    );
  }
  const client = new HttpClient(parsed.href, resolveOptions(options));
  const version = await probe(client);
  return new HttpDevice(client, version);
}
