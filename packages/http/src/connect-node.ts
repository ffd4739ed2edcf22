import { fetchTransport, open } from './connect.js';
import type { HttpDevice } from './http-device.js';
import { NodeTransport } from './node-transport.js';
import type { HttpOptions, ResolvedOptions } from './options.js';
import type { Transport } from './transport.js';

/** How long a response released at its last wanted byte may take to end before its connection is closed. */
const LINGER_MS = 1000;

function nodeTransport(options: ResolvedOptions): Transport {
  if (options.fetch !== undefined) return fetchTransport(options);
  return new NodeTransport({ maxSockets: options.concurrency, lingerMs: Math.min(LINGER_MS, options.timeoutMs) });
}

/**
 * Opens the image at `url` (http: or https:) as a read-only BlockDevice. Asks the server for the
 * image's length and validators first, and refuses a server that does not serve byte ranges
 * (UNSUPPORTED, reason NO_RANGES) or answers with an error (IO, reason STATUS, NETWORK…).
 * In Node, requests go through node:http/node:https on keep-alive connections of this device
 * (at most `concurrency`), unless `options.fetch` is given.
 */
export function connect(url: string | URL, options: HttpOptions = {}): Promise<HttpDevice> {
  return open(url, options, nodeTransport);
}
