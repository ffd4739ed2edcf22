// Node-only: reached from the package's "node" export (src/node.ts), never from the browser entry.
import { Pool } from './socket-connection.js';
import { abortError, Exchange } from './socket-exchange.js';
import type { Transport, TransportRequest, TransportResponse } from './transport.js';

/** Characters a header name or value may not carry onto the wire (they would end the header). */
const UNSAFE = /[\r\n\0]/;

interface Target {
  /** The request target: path and query. */
  readonly path: string;
  /** The Host header line and the end of the head, for requests that set no Host of their own. */
  readonly hostLine: string;
  readonly pool: Pool;
}

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
  /** What each URL asked for so far resolves to (parsed once, not per request). */
  readonly #targets = new Map<string, Target>();
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
    const target = this.#target(url);
    let head = `${method} ${target.path} HTTP/1.1\r\n`;
    let host = false;
    for (const name in headers) {
      const value = headers[name]!;
      if (UNSAFE.test(name) || UNSAFE.test(value)) throw new TypeError(`header ${JSON.stringify(name)} has a CR, LF or NUL`);
      if (!host && name.length === 4 && name.toLowerCase() === 'host') host = true;
      head += `${name}: ${value}\r\n`;
    }
    head += host ? '\r\n' : target.hostLine;
    const from = target.pool;
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

  #target(url: string): Target {
    const known = this.#targets.get(url);
    if (known !== undefined) return known;
    const parsed = new URL(url);
    let pool = this.#pools.get(parsed.host);
    if (pool === undefined) {
      pool = new Pool(parsed.hostname.replace(/^\[|\]$/g, ''), Number(parsed.port || 80), this.#maxSockets);
      this.#pools.set(parsed.host, pool);
    }
    const target = { path: `${parsed.pathname}${parsed.search}`, hostLine: `Host: ${parsed.host}\r\n\r\n`, pool };
    // A device asks for one URL (and the redirects of node:http's are not ours): a bound, not a cache policy.
    if (this.#targets.size >= 16) this.#targets.clear();
    this.#targets.set(url, target);
    return target;
  }

  close(): void {
    this.#openedBefore = this.connectionsOpened;
    for (const pool of this.#pools.values()) pool.close();
    this.#pools.clear();
    this.#targets.clear();
  }
}
