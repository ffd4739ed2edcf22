import { connect as connectDefault, type HttpDevice, type HttpOptions } from '../../src/index.js';
import { connect as connectNode } from '../../src/node.js';

export interface TransportCase {
  /** What `device.transport` says. */
  readonly name: string;
  readonly connect: (url: string | URL, options?: HttpOptions) => Promise<HttpDevice>;
}

/**
 * Every test runs over both transports: the Node entry's default (node:http), and the browser
 * entry's (the platform's fetch, here Node's own).
 */
export const TRANSPORTS: readonly TransportCase[] = [
  { name: 'node-http', connect: connectNode },
  { name: 'fetch', connect: connectDefault },
];
