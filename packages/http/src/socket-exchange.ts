import { ResponseParser, type ResponseHead } from './http1-parser.js';
import type { Connection } from './socket-connection.js';
import { asError, type TransportResponse } from './transport.js';

export const abortError = () => Object.assign(new Error('the request was aborted'), { name: 'AbortError' });

/**
 * What the connection does with the bytes it reads: parse a head, hand body bytes to a consumer,
 * or drain the rest of a released body. Bytes that arrive while nobody consumes are kept: as a
 * view of the read buffer (the connection reads the next bytes into its other buffer), and once
 * more arrive, as a copy, with the socket paused until they are fed on.
 */
export class Exchange implements TransportResponse {
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
  /** `#held` is a view of a read buffer of the connection (else a copy of our own). */
  #heldIsView = false;
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

  /** The bytes kept for a consumer are a view of `buffer`, which the next read must not overwrite. */
  holdsViewOf(buffer: Uint8Array): boolean {
    return this.#heldIsView && this.#held!.buffer === buffer.buffer;
  }

  /**
   * Keeps bytes nobody consumes yet. The first ones stay a view of the read buffer: the connection
   * reads into its other buffer while this one holds them (`holdsViewOf`). Once more arrive, both
   * are copied together and the socket paused, so nothing is kept in a read buffer any longer and
   * at most this copy grows.
   */
  #hold(bytes: Uint8Array): void {
    if (this.#held === undefined) {
      this.#held = bytes;
      this.#heldIsView = true;
      return;
    }
    const joined = new Uint8Array(this.#held.byteLength + bytes.byteLength);
    joined.set(this.#held);
    joined.set(bytes, this.#held.byteLength);
    this.#held = joined;
    this.#heldIsView = false;
    this.#connection.pause();
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
    this.#heldIsView = false;
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
