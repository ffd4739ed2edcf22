import type { Duplex } from 'node:stream';
import { FrameDecoder, type Frame } from '../codec/frame.js';
import { FrameWriter } from '../codec/frame-writer.js';
import { PAYLOAD_MAX } from '../codec/limits.js';
import type { Caller } from './caller.js';
import type { Transaction } from './transaction.js';
import type { Watch } from './watch.js';

/** What a connection needs from its server. */
export interface ConnectionHost {
  dispatch(connection: ServerConnection, frame: Frame): void;
  closed(connection: ServerConnection, reason: string): void;
  caller(connection: ServerConnection): Caller;
  /** The store version a message must wait for before it may leave (see persistence). */
  barrier(): number;
  isDurable(version: number): boolean;
  log(message: string): void;
}

let serial = 0;

/**
 * One client of the server, over a Unix socket or an in-process stream, acting as `domid`. Holds
 * the client's watches and open transactions; drops itself on any framing error.
 */
export class ServerConnection {
  readonly id = ++serial;
  readonly domid: number;
  readonly watches: Watch[] = [];
  readonly transactions = new Map<number, Transaction>();
  readonly #stream: Duplex;
  readonly #host: ConnectionHost;
  readonly #decoder = new FrameDecoder();
  /** Messages waiting for the store version they reflect to be durable. */
  readonly #held: { frame: Frame; barrier: number }[] = [];
  readonly #writer: FrameWriter;
  #nextTxId = 1;
  #caller: Caller | undefined;
  #closed = false;
  #paused = false;

  constructor(stream: Duplex, domid: number, host: ConnectionHost) {
    this.#stream = stream;
    this.domid = domid;
    this.#host = host;
    // Replies go out at the end of each input chunk (see #onData); events caused by other
    // connections wait for the end of the event-loop turn, batching those from many requests.
    this.#writer = new FrameWriter(
      (bytes) => {
        this.#write(bytes);
      },
      (flush) => setImmediate(flush),
    );
    stream.on('data', (chunk: Uint8Array) => {
      this.#onData(chunk);
    });
    stream.on('error', (error: Error) => {
      this.close(`stream error: ${error.message}`);
    });
    stream.on('end', () => {
      this.close('client closed the connection');
    });
    stream.on('close', () => {
      this.close('stream closed');
    });
    stream.on('drain', () => {
      if (this.#paused && !this.#closed) {
        this.#paused = false;
        stream.resume();
      }
    });
  }

  get caller(): Caller {
    return (this.#caller ??= this.#host.caller(this));
  }

  /** Forgets the cached caller after SET_TARGET or RELEASE changed what it should say. */
  invalidateCaller(): void {
    this.#caller = undefined;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A fresh transaction id: non-zero, unused on this connection. */
  allocateTransactionId(): number {
    for (;;) {
      const id = this.#nextTxId;
      this.#nextTxId = id === 0xffff_ffff ? 1 : id + 1;
      if (!this.transactions.has(id)) return id;
    }
  }

  /** Queues one message; it leaves once the state it reflects is durable. */
  send(frame: Frame): void {
    if (this.#closed) return;
    // Only watch events can get here oversize (a long event path plus a long token): C drops them too.
    if (frame.payload.length > PAYLOAD_MAX) return;
    const barrier = this.#host.barrier();
    if (this.#held.length === 0 && this.#host.isDurable(barrier)) this.#writer.push(frame.type, frame.reqId, frame.txId, frame.payload);
    else this.#held.push({ frame, barrier });
  }

  /** Sends held messages whose state became durable. */
  release(): void {
    let n = 0;
    while (n < this.#held.length && this.#host.isDurable(this.#held[n]!.barrier)) {
      const { frame } = this.#held[n++]!;
      this.#writer.push(frame.type, frame.reqId, frame.txId, frame.payload);
    }
    if (n > 0) this.#held.splice(0, n);
  }

  /** Drops the connection: aborts its transactions, forgets its watches. Idempotent. */
  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const tx of this.transactions.values()) tx.end();
    this.transactions.clear();
    this.watches.length = 0;
    this.#held.length = 0;
    this.#writer.clear();
    this.#stream.destroy();
    this.#host.closed(this, reason);
  }

  #write(bytes: Uint8Array): void {
    if (this.#closed || this.#stream.destroyed) return;
    if (!this.#stream.write(bytes) && !this.#paused) {
      // The client is not reading its replies: stop reading its requests until it does.
      this.#paused = true;
      this.#stream.pause();
    }
  }

  #onData(chunk: Uint8Array): void {
    if (this.#closed) return;
    const { frames, error } = this.#decoder.push(chunk);
    for (const frame of frames) {
      if (this.closed) return;
      this.#host.dispatch(this, frame);
    }
    this.#writer.flush();
    if (error) {
      this.#host.log(`connection ${this.id} (domain ${this.domid}) dropped: ${error.message}`);
      this.close(error.message);
    }
  }
}
