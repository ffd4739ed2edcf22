import type { Duplex } from 'node:stream';
import { FrameDecoder, type Frame } from '../codec/frame.js';
import { FrameWriter } from '../codec/frame-writer.js';
import { HEADER_SIZE, PAYLOAD_MAX } from '../codec/limits.js';
import { MessageType } from '../codec/message-type.js';
import { latin1, nulTerminated } from '../codec/payload.js';
import type { Caller } from './caller.js';
import type { ServerLimits } from './limits.js';
import type { Transaction } from './transaction.js';
import { reportedPath, type Watch } from './watch.js';

/** What a connection needs from its server. */
export interface ConnectionHost {
  readonly limits: ServerLimits;
  dispatch(connection: ServerConnection, frame: Frame): void;
  /**
   * Whether the connection's next request may be answered now, as far as its domain's limits go
   * (credit, the domain's queued bytes). When not, the host calls `wake` once it may.
   */
  admit(connection: ServerConnection): boolean;
  /** Whether a watch event of `size` bytes fits in what the connection's domain may have queued. */
  eventRoom(connection: ServerConnection, size: number): boolean;
  /** Some of the connection's output was taken by the client. */
  drained(connection: ServerConnection): void;
  closed(connection: ServerConnection, reason: string): void;
  caller(connection: ServerConnection): Caller;
  /** The store version a message must wait for before it may leave (see persistence). */
  barrier(): number;
  isDurable(version: number): boolean;
  log(message: string): void;
}

interface Held {
  readonly frame: Frame;
  readonly barrier: number;
}

let serial = 0;

/**
 * Requests one connection may have answered per event-loop turn before the others get theirs.
 * Small, so that a client with a deep pipeline gets about the share of one with a few requests
 * in flight (16 gave a 64-deep dom0 writer four times the turns of a 4-deep client); `pnpm bench`'s
 * pipelined rows (32 in flight) showed no loss against 16.
 */
const REQUESTS_PER_TURN = 4;

/**
 * A batch this large is written without waiting for the rest of its chunk's requests: one write
 * per turn already costs little per byte, and larger replies keep leaving every turn as before.
 */
const FLUSH_BATCH_BYTES = 4096;

/**
 * One client of the server, over a Unix socket or an in-process stream, acting as `domid`. Holds
 * the client's watches and open transactions; drops itself on any framing error.
 *
 * Output is bounded (`limits.outputBytes`): requests are taken one at a time and only while what
 * is queued for the client stays under the limit, so a client that does not read stops being
 * read; watch events that do not fit are dropped and made up for by one event per affected watch
 * once the client has read half of its queue.
 */
export class ServerConnection {
  readonly id = ++serial;
  readonly domid: number;
  readonly watches: Watch[] = [];
  readonly transactions = new Map<number, Transaction>();
  /** Watch events dropped because the queue was full (over the connection's life). */
  droppedEvents = 0;
  /** The most bytes ever queued for this connection. */
  peakQueuedBytes = 0;
  readonly #stream: Duplex;
  readonly #host: ConnectionHost;
  readonly #decoder = new FrameDecoder();
  /** Requests decoded but not yet answered (the rest of a chunk, while output is full). */
  #inbox: (Frame | undefined)[] = [];
  #inboxHead = 0;
  #inputError: Error | undefined;
  /** Messages waiting for the store version they reflect to be durable. */
  readonly #held: Held[] = [];
  #heldBytes = 0;
  readonly #writer: FrameWriter;
  /** Watches that lost events since the queue was last below half the limit. */
  readonly #lagging = new Set<Watch>();
  #episodeDrops = 0;
  #nextTxId = 1;
  #caller: Caller | undefined;
  #closed = false;
  #paused = false;
  #pumping = false;
  #pumpScheduled = false;

  constructor(stream: Duplex, domid: number, host: ConnectionHost) {
    this.#stream = stream;
    this.domid = domid;
    this.#host = host;
    // Replies and events go out at most once per event-loop turn (setImmediate): one socket write
    // for everything a turn produced for this client, whichever requests caused it. While the
    // rest of a chunk of requests waits for the next turn (the fairness budget), its replies wait
    // too: one write per chunk rather than per turn. Socket writes were the server's largest cost
    // in the soak and `pnpm bench` profiles (a third of its busy time).
    this.#writer = new FrameWriter(
      (bytes) => {
        this.#write(bytes);
      },
      (flush) => setImmediate(flush),
      () => this.#batching(),
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
      this.#pump();
      this.#host.drained(this);
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

  /** Bytes queued for the client: held for the disk, batched, and buffered in the stream. */
  get queuedBytes(): number {
    return this.#heldBytes + this.#writer.bytes + (this.#stream.destroyed ? 0 : this.#stream.writableLength);
  }

  /** A fresh transaction id: non-zero, unused on this connection. */
  allocateTransactionId(): number {
    for (;;) {
      const id = this.#nextTxId;
      this.#nextTxId = id === 0xffff_ffff ? 1 : id + 1;
      if (!this.transactions.has(id)) return id;
    }
  }

  /** Queues a reply (never dropped: the requests that cause them stop at the limit); it leaves once the state it reflects is durable. */
  send(frame: Frame): void {
    if (this.#closed) return;
    // Only watch events can get here oversize (a long event path plus a long token): C drops them too.
    if (frame.payload.length > PAYLOAD_MAX) return;
    const barrier = this.#host.barrier();
    if (this.#held.length === 0 && this.#host.isDurable(barrier)) {
      this.#writer.push(frame.type, frame.reqId, frame.txId, frame.payload);
    } else {
      this.#held.push({ frame, barrier });
      this.#heldBytes += HEADER_SIZE + frame.payload.length;
    }
    this.#notePeak();
  }

  /** Queues a watch event for `watch` reporting `path`, or drops it when the queue is full. */
  sendEvent(watch: Watch, path: string): void {
    if (this.#closed) return;
    // Paths and tokens travel as latin1: one byte per character.
    const size = path.length + watch.token.length + 2;
    if (size > PAYLOAD_MAX) return;
    if (this.queuedBytes + HEADER_SIZE + size > this.#host.limits.outputBytes || !this.#host.eventRoom(this, HEADER_SIZE + size)) {
      this.droppedEvents++;
      if (this.#episodeDrops++ === 0) {
        this.#host.log(
          `connection ${this.id} (domain ${this.domid}) is not reading: dropping watch events beyond ${this.#host.limits.outputBytes} queued bytes`,
        );
      }
      this.#lagging.add(watch);
      return;
    }
    this.send({ type: MessageType.WATCH_EVENT, reqId: 0, txId: 0, payload: nulTerminated(latin1(path), latin1(watch.token)) });
  }

  /** Sends held messages whose state became durable. */
  release(): void {
    let n = 0;
    while (n < this.#held.length && this.#host.isDurable(this.#held[n]!.barrier)) {
      const { frame } = this.#held[n++]!;
      this.#heldBytes -= HEADER_SIZE + frame.payload.length;
      this.#writer.push(frame.type, frame.reqId, frame.txId, frame.payload);
    }
    if (n > 0) {
      this.#held.splice(0, n);
      this.#schedulePump();
    }
  }

  /**
   * Sends every held message now, replies of the types in `failed` replaced by an EIO error
   * (saving failed: the change they acknowledge is not on disk).
   */
  releaseAll(failed: ReadonlySet<number>): void {
    const eio = nulTerminated('EIO');
    for (const { frame } of this.#held) {
      if (failed.has(frame.type)) this.#writer.push(MessageType.ERROR, frame.reqId, frame.txId, eio);
      else this.#writer.push(frame.type, frame.reqId, frame.txId, frame.payload);
    }
    this.#held.length = 0;
    this.#heldBytes = 0;
    this.#schedulePump();
  }

  /** Tries the waiting requests again on a later turn (the domain has credit or room again). */
  wake(): void {
    this.#schedulePump();
  }

  /** Drops the connection: aborts its transactions, forgets its watches. Idempotent. */
  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const tx of this.transactions.values()) tx.end();
    this.transactions.clear();
    this.watches.length = 0;
    this.#held.length = 0;
    this.#heldBytes = 0;
    this.#inbox = [];
    this.#lagging.clear();
    this.#writer.clear();
    this.#stream.destroy();
    this.#host.closed(this, reason);
  }

  #notePeak(): void {
    const queued = this.queuedBytes;
    if (queued > this.peakQueuedBytes) this.peakQueuedBytes = queued;
  }

  #write(bytes: Uint8Array): void {
    if (this.#closed || this.#stream.destroyed) return;
    // No pause on a false return here: reading stops at the output limit (see #pump), not at
    // the stream's much smaller high-water mark.
    this.#stream.write(bytes);
    this.#notePeak();
    // The stream may have taken the bytes at once (no 'drain' will come): requests held back by
    // the full queue can go on.
    if (this.#inboxHead < this.#inbox.length && this.queuedBytes < this.#host.limits.outputBytes) this.#schedulePump();
  }

  /**
   * Whether the batch may wait for the next turn's requests: a pump is due (it kicks the writer
   * when it ends), requests are waiting for it, and neither the batch nor the queue is full.
   */
  #batching(): boolean {
    return (
      this.#pumpScheduled &&
      this.#inboxHead < this.#inbox.length &&
      this.#writer.bytes < FLUSH_BATCH_BYTES &&
      this.queuedBytes < this.#host.limits.outputBytes
    );
  }

  #pause(): void {
    if (this.#paused) return;
    // The client is not reading its replies: stop reading its requests until it does.
    this.#paused = true;
    this.#stream.pause();
  }

  #onData(chunk: Uint8Array): void {
    if (this.#closed) return;
    const { frames, error } = this.#decoder.push(chunk);
    for (const frame of frames) this.#inbox.push(frame);
    if (error) this.#inputError = error;
    this.#pump();
  }

  #schedulePump(): void {
    if (this.#pumpScheduled || this.#closed) return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  /** Answers queued requests while the output has room, then decides whether to read on. */
  #pump(): void {
    if (this.#pumping || this.#closed) return;
    const limit = this.#host.limits.outputBytes;
    this.#pumping = true;
    // A fair share per event-loop turn: a client with thousands of requests in one chunk takes
    // turns with the others instead of holding the loop until it is done.
    let budget = REQUESTS_PER_TURN;
    /** Set when the domain's limits hold the requests: the host wakes this connection, no retry next turn. */
    let held = false;
    try {
      while (this.#inboxHead < this.#inbox.length && !this.closed && this.queuedBytes < limit && budget > 0) {
        if (!this.#host.admit(this)) {
          held = true;
          break;
        }
        budget--;
        const frame = this.#inbox[this.#inboxHead]!;
        this.#inbox[this.#inboxHead++] = undefined;
        this.#host.dispatch(this, frame);
      }
    } finally {
      this.#pumping = false;
    }
    if (this.closed) return;
    const waiting = this.#inbox.length - this.#inboxHead;
    if (waiting === 0) {
      this.#inbox = [];
      this.#inboxHead = 0;
      if (this.#inputError) {
        this.#host.log(`connection ${this.id} (domain ${this.domid}) dropped: ${this.#inputError.message}`);
        this.close(this.#inputError.message);
        return;
      }
    }
    const queued = this.queuedBytes;
    if (this.#lagging.size > 0 && queued <= limit / 2) this.#catchUp();
    if (waiting > 0) {
      this.#pause();
      // Room left (the turn's budget ran out, or the stream took the bytes at once): carry on
      // next turn. Otherwise a 'drain', the disk (`release`) or the domain (`wake`) calls back.
      if (queued < limit && !held) this.#schedulePump();
    } else if (this.#paused) {
      this.#paused = false;
      this.#stream.resume();
    }
    // The batch a scheduled flush held for this pump goes out now, or waits for the next pump.
    this.#writer.kick();
  }

  /** One event per watch that lost some, with the watch's own path: the client re-reads. */
  #catchUp(): void {
    const lagging = [...this.#lagging];
    this.#lagging.clear();
    const dropped = this.#episodeDrops;
    this.#episodeDrops = 0;
    this.#host.log(
      `connection ${this.id} (domain ${this.domid}) reads again after ${dropped} dropped watch events; re-notifying ${lagging.length} watches`,
    );
    for (const watch of lagging) {
      if (this.watches.includes(watch)) this.sendEvent(watch, watch.path.startsWith('@') ? watch.path : reportedPath(watch, watch.path));
    }
    this.#writer.flush();
  }
}
