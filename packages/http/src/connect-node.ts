import { fetchTransport, open } from './connect.js';
import type { HttpDevice } from './http-device.js';
import { NodeAutoTransport } from './node-auto-transport.js';
import type { HttpOptions, ResolvedOptions } from './options.js';
import type { Transport } from './transport.js';

/** How long a response released at its last wanted byte may take to end before its connection is closed. */
const LINGER_MS = 1000;

export function nodeTransport(options: ResolvedOptions): Transport {
  if (options.fetch !== undefined) return fetchTransport(options);
  return new NodeAutoTransport({ maxSockets: options.concurrency, lingerMs: Math.min(LINGER_MS, options.timeoutMs) });
}

/**
 * Opens the image at `url` (http: or https:) as a read-only BlockDevice. Asks the server for the
 * image's length and validators first, and refuses a server that does not serve byte ranges
 * (UNSUPPORTED, reason NO_RANGES) or answers with an error (IO, reason STATUS, NETWORK…).
 * In Node, requests go over keep-alive connections of this device (at most `concurrency` per
 * origin): its own HTTP/1.1 sockets for http: URLs, node:https for https: URLs and redirects;
 * `options.fetch` picks that fetch instead.
 */
export function connect(url: string | URL, options: HttpOptions = {}): Promise<HttpDevice> {
  return open(url, options, nodeTransport);
}
