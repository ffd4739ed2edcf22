// Node-only: reached from the package's "node" export (src/node.ts), never from the browser entry.
import { Pool } from './socket-connection.js';
import { abortError, Exchange } from './socket-exchange.js';
import type { Transport, TransportRequest, TransportResponse } from './transport.js';

/** Characters a header name or value may not carry onto the wire (they would end the header). */
const UNSAFE = /[\r\n\0]/;

/**
 * HTTP/1.1 over plain TCP sockets of its own (http: URLs only): keep-alive connections, at most
 * `maxSockets` per origin, each reading into one reused buffer (net.Socket's `onread`) and handing
 * the body to the consumer as views of it, so a range is copied once, into the device's blocks.
 * Follows no redirects: `redirect` gets them (the node:http transport).
 */
export class SocketTransport implements Transport {
  readonly name = 'node-socket';
  readonly #maxSockets: number;
  readonly #lingerMs: number;
  readonly #pools = new Map<string, Pool>();
  #openedBefore = 0;

  get connectionsOpened(): number {
    let opened = this.#openedBefore;
    for (const pool of this.#pools.values()) opened += pool.opened;
    return opened;
  }

  constructor(options: { maxSockets: number; lingerMs: number }) {
    this.#maxSockets = options.maxSockets;
    this.#lingerMs = options.lingerMs;
  }

  request(method: 'GET' | 'HEAD', url: string, headers: Readonly<Record<string, string>>): TransportRequest {
    let aborted = false;
    const isAborted = () => aborted;
    let exchange: Exchange | undefined;
    const target = new URL(url);
    const lines = [`${method} ${target.pathname}${target.search} HTTP/1.1`];
    let host = false;
    for (const [name, value] of Object.entries(headers)) {
      if (UNSAFE.test(name) || UNSAFE.test(value)) throw new TypeError(`header ${JSON.stringify(name)} has a CR, LF or NUL`);
      if (name.toLowerCase() === 'host') host = true;
      lines.push(`${name}: ${value}`);
    }
    if (!host) lines.push(`Host: ${target.host}`);
    const head = `${lines.join('\r\n')}\r\n\r\n`;
    const key = target.host;
    let pool = this.#pools.get(key);
    if (pool === undefined) {
      pool = new Pool(target.hostname.replace(/^\[|\]$/g, ''), Number(target.port || 80), this.#maxSockets);
      this.#pools.set(key, pool);
    }
    const from = pool;
    const attempt = async (fresh: boolean): Promise<TransportResponse> => {
      const connection = await from.take(fresh);
      if (aborted) {
        connection.destroy(abortError());
        throw abortError();
      }
      exchange = new Exchange(connection, method, this.#lingerMs);
      connection.send(exchange, head);
      try {
        return await exchange.headPromise;
      } catch (error) {
        // A kept-alive connection the server closed meanwhile: once more on a new one (GET and HEAD are idempotent).
        if (!isAborted() && connection.uses > 1 && !exchange.gotBytes) return attempt(true);
        throw error;
      }
    };
    return {
      response: attempt(false),
      abort: () => {
        aborted = true;
        exchange?.fail(abortError());
      },
    };
  }

  close(): void {
    this.#openedBefore = this.connectionsOpened;
    for (const pool of this.#pools.values()) pool.close();
    this.#pools.clear();
  }
}
