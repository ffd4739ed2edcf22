// Node-only: reached from the package's "node" export (src/node.ts), never from the browser entry.
// eslint-disable-next-line no-restricted-imports -- node:net is this file's reason to be
import { connect as netConnect, type Socket } from 'node:net';
import { ResponseParser, type ResponseHead } from './http1-parser.js';
import { asError, type Transport, type TransportRequest, type TransportResponse } from './transport.js';

/** Bytes one socket read lands in (reused for every read of the connection). */
export const READ_BUFFER_BYTES = 256 * 1024;

const abortError = () => Object.assign(new Error('the request was aborted'), { name: 'AbortError' });

/**
 * What the connection does with the bytes it reads: parse a head, hand body bytes to a consumer,
 * or drain the rest of a released body. Bytes that arrive while nobody consumes are kept (as a
 * view of the read buffer) and the socket paused until they are fed on.
 */
class Exchange implements TransportResponse {
  status = 0;
  statusText = '';
  headers = { get: (_name: string): string | null => null };
  readonly parser: ResponseParser;
  readonly #connection: Connection;
  readonly #lingerMs: number;
  #resolveHead!: (response: TransportResponse) => void;
  #rejectHead!: (error: Error) => void;
  readonly headPromise: Promise<TransportResponse>;
  /** Body bytes read before anyone consumed them. */
  #held: Uint8Array | undefined;
  #consumer: { onChunk: (chunk: Uint8Array) => boolean; resolve: () => void; reject: (error: Error) => void } | undefined;
  #released = false;
  #failed: Error | undefined;
  #linger: ReturnType<typeof setTimeout> | undefined;
  /** Any byte of the response has arrived (a reused connection that fails before is retried). */
  gotBytes = false;

  constructor(connection: Connection, method: 'GET' | 'HEAD', lingerMs: number) {
    this.#connection = connection;
    this.#lingerMs = lingerMs;
    this.parser = new ResponseParser(method);
    this.headPromise = new Promise((resolve, reject) => {
      this.#resolveHead = resolve;
      this.#rejectHead = reject;
    });
  }

  /** Bytes from the socket (a view of the reused read buffer). */
  onBytes(data: Uint8Array): void {
    this.gotBytes = true;
    let at = 0;
    if (this.parser.head === undefined) {
      at = this.parser.feedHead(data);
      const head = this.parser.head as ResponseHead | undefined;
      if (head === undefined) return;
      this.status = head.status;
      this.statusText = head.statusText;
      this.headers = { get: (name) => head.headers.get(name.toLowerCase()) ?? null };
      if (at < data.byteLength) {
        if (this.parser.complete) this.#connection.keepAlive = false;
        else this.#hold(data.subarray(at));
      }
      if (this.parser.complete) this.#finished();
      else this.#connection.pause();
      this.#resolveHead(this);
      return;
    }
    this.#body(data.subarray(at));
  }

  /** Read through methods: the parser and the holding change under calls the compiler cannot follow. */
  #complete(): boolean {
    return this.parser.complete;
  }

  #holding(): boolean {
    return this.#held !== undefined;
  }

  /**
   * Keeps bytes nobody consumes yet. Every caller pauses the socket with it, and a paused socket
   * reads nothing more into the read buffer, so a view of it stays valid until it is fed on.
   */
  #hold(bytes: Uint8Array): void {
    if (this.#held === undefined) {
      this.#held = bytes;
      return;
    }
    const joined = new Uint8Array(this.#held.byteLength + bytes.byteLength);
    joined.set(this.#held);
    joined.set(bytes, this.#held.byteLength);
    this.#held = joined;
  }

  #body(data: Uint8Array): void {
    const consumer = this.#consumer;
    if (this.parser.complete) {
      // A body that ran to the end of the connection, held until now.
      this.#consumer = undefined;
      if (data.byteLength > 0) consumer?.onChunk(data);
      consumer?.resolve();
      return;
    }
    if (consumer === undefined && !this.#released) {
      this.#hold(data);
      this.#connection.pause();
      return;
    }
    let used: number;
    try {
      used = this.parser.feedBody(data, (payload) => (consumer === undefined ? true : consumer.onChunk(payload)));
    } catch (error) {
      this.fail(asError(error));
      return;
    }
    if (this.#complete()) {
      if (used < data.byteLength) this.#connection.keepAlive = false;
      this.#consumer = undefined;
      consumer?.resolve();
      this.#finished();
      return;
    }
    if (used < data.byteLength) {
      // The consumer stopped mid-read: keep the rest for whoever reads next (release drains it).
      this.#consumer = undefined;
      this.#hold(data.subarray(used));
      this.#connection.pause();
      consumer?.resolve();
      if (this.#released) this.#drain();
    }
  }

  consume(onChunk: (chunk: Uint8Array) => boolean): Promise<void> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    if (this.parser.complete && this.#held === undefined) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let stopped = false;
      this.#consumer = {
        onChunk: (chunk) => {
          if (stopped) return false;
          let more: boolean;
          try {
            more = onChunk(chunk);
          } catch (error) {
            stopped = true;
            reject(asError(error));
            return false;
          }
          if (!more) stopped = true;
          return more;
        },
        resolve,
        reject,
      };
      this.#feedHeld();
    });
  }

  #feedHeld(): void {
    const held = this.#held;
    this.#held = undefined;
    if (held !== undefined) this.#body(held);
    // Still someone to hand bytes to, or a body to drain: read on.
    if (!this.#complete() && this.#failed === undefined && !this.#holding()) this.#connection.resume();
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    if (this.#failed !== undefined || this.parser.complete) return;
    // The caller stopped at the last byte it asked for; the end of the body (its terminating
    // chunk) is usually already here. Give it `lingerMs` to come, then close the connection.
    this.#linger = setTimeout(() => this.fail(new Error('the rest of a released body did not come')), this.#lingerMs);
    this.#drain();
  }

  #drain(): void {
    this.#feedHeld();
  }

  /** The server closed the connection: the end of a body framed by it, else a failure. */
  onEof(): void {
    if (this.#failed !== undefined || this.parser.complete) return;
    try {
      this.parser.end();
    } catch (error) {
      this.fail(asError(error));
      return;
    }
    clearTimeout(this.#linger);
    if (this.#held !== undefined) return;
    const consumer = this.#consumer;
    this.#consumer = undefined;
    consumer?.resolve();
  }

  /** The body is read to its end: the connection may carry the next request. */
  #finished(): void {
    clearTimeout(this.#linger);
    this.#connection.done(this);
  }

  /** The connection failed, was aborted, or the response cannot be read: everything waiting rejects. */
  fail(error: Error): void {
    if (this.#failed !== undefined || this.parser.complete) return;
    this.#failed = error;
    clearTimeout(this.#linger);
    this.#rejectHead(error);
    const consumer = this.#consumer;
    this.#consumer = undefined;
    consumer?.reject(error);
    this.#connection.destroy(error);
  }
}

/** One keep-alive connection to one origin, carrying one exchange at a time. */
class Connection {
  readonly socket: Socket;
  keepAlive = true;
  /** Requests it has carried (1 while carrying its first). */
  uses = 0;
  #exchange: Exchange | undefined;
  readonly #pool: Pool;
  #closed = false;

  constructor(pool: Pool, host: string, port: number) {
    this.#pool = pool;
    const buffer = new Uint8Array(READ_BUFFER_BYTES);
    this.socket = netConnect({
      host,
      port,
      noDelay: true,
      onread: {
        buffer,
        callback: (length: number) => {
          this.#onRead(buffer.subarray(0, length));
          return true;
        },
      },
    });
    this.socket.on('error', (error) => this.destroy(error));
    this.socket.on('end', () => this.#onEnd());
    this.socket.on('close', () => this.destroy(new Error('the connection closed')));
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(exchange: Exchange, head: string): void {
    this.#exchange = exchange;
    this.uses++;
    this.keepAlive = true;
    this.socket.ref();
    this.socket.write(head, 'latin1');
    this.resume();
  }

  #onRead(bytes: Uint8Array): void {
    const exchange = this.#exchange;
    if (exchange === undefined) {
      // Bytes nobody asked for on an idle connection: it cannot be trusted with a request.
      this.destroy(new Error('bytes on an idle connection'));
      return;
    }
    try {
      exchange.onBytes(bytes);
    } catch (error) {
      exchange.fail(asError(error));
    }
  }

  #onEnd(): void {
    const exchange = this.#exchange;
    this.#exchange = undefined;
    exchange?.onEof();
    this.destroy(new Error('the server closed the connection'));
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** The exchange ended cleanly. */
  done(exchange: Exchange): void {
    if (this.#exchange !== exchange) return;
    this.#exchange = undefined;
    if (!this.keepAlive || exchange.parser.head?.keepAlive !== true) {
      this.destroy(new Error('the connection is not kept alive'));
      return;
    }
    this.socket.unref();
    // Reads on while idle, so a server closing it is noticed.
    this.resume();
    this.#pool.idle(this);
  }

  destroy(error: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    const exchange = this.#exchange;
    this.#exchange = undefined;
    this.socket.destroy();
    exchange?.fail(error);
    this.#pool.gone(this);
  }
}

/** The connections to one origin: at most `maxSockets`, idle ones reused last-in first-out. */
class Pool {
  readonly #host: string;
  readonly #port: number;
  readonly #maxSockets: number;
  readonly #idle: Connection[] = [];
  readonly #all = new Set<Connection>();
  readonly #waiting: ((connection: Connection | Error) => void)[] = [];
  #closed = false;
  /** Connections opened so far. */
  opened = 0;

  constructor(host: string, port: number, maxSockets: number) {
    this.#host = host;
    this.#port = port;
    this.#maxSockets = maxSockets;
  }

  /** A connection for one request: an idle one, a new one, or the next one freed. */
  take(fresh: boolean): Promise<Connection> {
    if (this.#closed) return Promise.reject(abortError());
    if (!fresh) {
      const idle = this.#idle.pop();
      if (idle !== undefined) return Promise.resolve(idle);
    }
    if (this.#all.size < this.#maxSockets) return Promise.resolve(this.#open());
    if (fresh && this.#idle.length > 0) {
      this.#idle.shift()!.destroy(new Error('replaced by a fresh connection'));
      return Promise.resolve(this.#open());
    }
    return new Promise((resolve, reject) => {
      this.#waiting.push((c) => (c instanceof Error ? reject(c) : resolve(c)));
    });
  }

  #open(): Connection {
    this.opened++;
    const connection = new Connection(this, this.#host, this.#port);
    this.#all.add(connection);
    return connection;
  }

  idle(connection: Connection): void {
    const waiter = this.#waiting.shift();
    if (waiter !== undefined) waiter(connection);
    else this.#idle.push(connection);
  }

  gone(connection: Connection): void {
    this.#all.delete(connection);
    const at = this.#idle.indexOf(connection);
    if (at >= 0) this.#idle.splice(at, 1);
    if (this.#closed) return;
    const waiter = this.#waiting.shift();
    if (waiter !== undefined) waiter(this.#open());
  }

  close(): void {
    this.#closed = true;
    for (const waiter of this.#waiting.splice(0)) waiter(abortError());
    for (const connection of [...this.#all]) connection.destroy(abortError());
  }
}

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
