import { open } from '../../src/connect.js';
import { connect as connectDefault, type HttpDevice, type HttpOptions } from '../../src/index.js';
import { NodeTransport } from '../../src/node-transport.js';
import { connect as connectNode } from '../../src/node.js';

export interface TransportCase {
  /** What `device.transport` says. */
  readonly name: string;
  readonly connect: (url: string | URL, options?: HttpOptions) => Promise<HttpDevice>;
}

/**
 * Every test runs over each transport: the Node entry's default (its own sockets for http:
 * URLs), node:http (what https: URLs and redirects take in Node), and the browser entry's (the
 * platform's fetch, here Node's own).
 */
export const TRANSPORTS: readonly TransportCase[] = [
  { name: 'node', connect: connectNode },
  {
    name: 'node-http',
    connect: (url, options = {}) =>
      open(url, options, (resolved) => new NodeTransport({ maxSockets: resolved.concurrency, lingerMs: 1000 })),
  },
  { name: 'fetch', connect: connectDefault },
];
