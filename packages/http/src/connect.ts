import { BlockError } from '@blk/core';
import { FetchTransport } from './fetch-transport.js';
import { HttpClient } from './http-client.js';
import { HttpDevice } from './http-device.js';
import { resolveOptions, type HttpOptions, type ResolvedOptions } from './options.js';
import { probe } from './probe.js';
import type { Transport } from './transport.js';

/** The transport of the options' own `fetch`, else the platform's (called through globalThis: a browser's fetch throws "Illegal invocation" with another `this`). */
export function fetchTransport(options: ResolvedOptions): Transport {
  if (options.fetch !== undefined) return new FetchTransport(options.fetch);
  if (typeof globalThis.fetch !== 'function') {
    throw new BlockError('INVALID_ARGUMENT', 'no fetch: this platform has none and options.fetch is not given');
  }
  return new FetchTransport((input, init) => globalThis.fetch(input, init));
}

/** What every `connect` does, with the transport its entry point chooses. */
export async function open(
  url: string | URL,
  options: HttpOptions,
  transportFor: (options: ResolvedOptions) => Transport,
): Promise<HttpDevice> {
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
    throw new BlockError('INVALID_ARGUMENT', 'credentials in the URL are not sent: pass an Authorization header in options.headers');
  }
  const resolved = resolveOptions(options);
  const client = new HttpClient(parsed.href, resolved, transportFor(resolved));
  try {
    const version = await probe(client);
    return new HttpDevice(client, version);
  } catch (error) {
    client.close();
    throw error;
  }
}

/**
 * Opens the image at `url` (http: or https:) as a read-only BlockDevice. Asks the server for the
 * image's length and validators first, and refuses a server that does not serve byte ranges
 * (UNSUPPORTED, reason NO_RANGES) or answers with an error (IO, reason STATUS, NETWORK…).
 * Requests go through `options.fetch` or the platform's `fetch` (in Node, the package's "node"
 * export sends them with node:http/node:https instead, unless `options.fetch` is given).
 */
export function connect(url: string | URL, options: HttpOptions = {}): Promise<HttpDevice> {
  return open(url, options, fetchTransport);
}
