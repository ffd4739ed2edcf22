import { isBlockError, isSeekable, thrownMessage, zeroRange, type BlockDevice } from '@blk/core';
import { allocationRuns } from './allocation.js';
import type { BufferPool } from './buffer-pool.js';
import type { Channel } from './channel.js';
import type { DirectReads } from './direct-reads.js';
import { Command, CommandFlag, Errno, REQUEST_HEADER_BYTES, STATE_HOLE, STATE_ZERO } from './constants.js';
import { errnoFor, errnoName } from './errno.js';
import { serveRead, type ReadContext } from './read-reply.js';
import { validateRequest } from './request-validation.js';
import { BASE_ALLOCATION_ID, type Negotiated } from './server-handshake.js';
import type { ServerLimits } from './server-options.js';
import {
  decodeRequest,
  encodeBlockStatusChunk,
  encodeErrorChunk,
  encodeNoneChunk,
  encodeSimpleReply,
  type RequestHeader,
} from './transmission-codec.js';

/** Extents per BLOCK_STATUS reply (the protocol allows 2^20; a client asks again for the rest). */
const MAX_EXTENTS = 16384;

const RESOLVED = Promise.resolve();

class RequestError extends Error {
  constructor(
    readonly errno: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The transmission phase of one connection: parses requests from the channel as they arrive,
 * runs them concurrently against the export's device and replies in completion order. Reading
 * stops (the socket is paused, nothing more is buffered) while the requests or bytes in flight,
 * or the replies queued, are over the limits.
 */
export class ServerSession {
  readonly #channel: Channel;
  readonly #n: Negotiated;
  readonly #device: BlockDevice;
  readonly #limits: ServerLimits;
  readonly #sectorSize: number;
  readonly #onError: (error: Error) => void;
  readonly #pool: BufferPool;
  readonly #reads: ReadContext;
  #inFlight = 0;
  #inFlightBytes = 0;
  /** A WRITE whose header was read and whose payload is still arriving. */
  #awaitingPayload: RequestHeader | undefined;
  /**
   * With direct reads, where that WRITE's payload is gathered (a pooled buffer the socket reads
   * straight into): the socket's own buffer is reused for the next read, so no device may keep
   * a view of it.
   */
  #payload: { readonly buffer: Buffer; filled: number } | undefined;
  readonly #direct: DirectReads | undefined;
  /** No more requests are read: DISC, end of input, a violation, or the server closing. */
  #stopped = false;
  #shuttingDown = false;
  #finished = false;
  #closing = false;
  readonly #done: Promise<void>;
  #resolveDone!: () => void;

  constructor(
    channel: Channel,
    negotiated: Negotiated,
    limits: ServerLimits,
    pool: BufferPool,
    onError: (error: Error) => void,
    direct?: DirectReads,
  ) {
    this.#channel = channel;
    this.#direct = direct;
    this.#pool = pool;
    this.#n = negotiated;
    this.#device = negotiated.export.device;
    this.#reads = {
      device: this.#device,
      channel,
      pool,
      negotiated,
      sparse: isSeekable(this.#device) && this.#device.supports.sparse,
    };
    this.#limits = limits;
    this.#sectorSize = negotiated.info.sectorSize;
    this.#onError = onError;
    this.#done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  /** Serves until the connection ends; never rejects. */
  run(): Promise<void> {
    const channel = this.#channel;
    channel.onData = this.#pump;
    channel.onClose = () => {
      // End of input: finish what is in flight, then close our side.
      this.#stop();
    };
    channel.stream.on('drain', this.#pump);
    if (this.#direct) {
      this.#direct.target = () =>
        this.#payload && this.#channel.reader.length === 0 ? this.#payload.buffer.subarray(this.#payload.filled) : undefined;
      this.#direct.onDirect = (n) => {
        this.#payload!.filled += n;
        this.#pump();
      };
    }
    void channel.whenClosed().then(() => {
      this.#finish();
    });
    // Requests that came with the handshake's last bytes are served even if input has ended.
    this.#pump();
    if (channel.closed) this.#stop();
    return this.#done;
  }

  /**
   * The server is closing: requests already received are answered ESHUTDOWN, nothing more is
   * read, and the connection closes once the requests in flight are answered.
   */
  shutdown(): void {
    this.#shuttingDown = true;
    this.#pump();
    this.#stop();
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#stopped = true;
    this.#channel.stream.off('drain', this.#pump);
    this.#resolveDone();
  }

  /** Reads no more requests; closes our side once nothing is in flight. */
  #stop(): void {
    this.#stopped = true;
    this.#closeWhenIdle();
  }

  #closeWhenIdle(): void {
    if (!this.#stopped || this.#inFlight > 0 || this.#finished || this.#closing) return;
    this.#closing = true;
    // A peer that never closes its side is dropped after the grace time.
    this.#channel.close(this.#limits.closeGraceMs);
  }

  #violation(message: string): void {
    this.#onError(new Error(`NBD client violated the protocol: ${message}`));
    this.#channel.destroy();
    this.#finish();
  }

  readonly #pump = (): void => {
    const channel = this.#channel;
    const reader = channel.reader;
    const limits = this.#limits;
    while (!this.#stopped) {
      // Shutting down, what was received is answered ESHUTDOWN at once, past the in-flight limits:
      // those answers take nothing from the device, and a request received is never dropped.
      if (
        !this.#shuttingDown &&
        (this.#inFlight >= limits.maxInFlightRequests ||
          this.#inFlightBytes >= limits.maxInFlightBytes ||
          channel.queuedBytes >= limits.maxInFlightBytes)
      ) {
        channel.pause();
        return;
      }
      if (!this.#awaitingPayload && reader.length < REQUEST_HEADER_BYTES) {
        channel.resume();
        return;
      }
      let header = this.#awaitingPayload;
      if (!header) {
        header = decodeRequest(...reader.locate(REQUEST_HEADER_BYTES));
        if (!header) {
          this.#violation('bad request magic');
          return;
        }
        reader.skip(REQUEST_HEADER_BYTES);
        if (header.type === Command.WRITE && header.length > this.#n.maxPayload) {
          this.#violation(`a WRITE of ${header.length} bytes is over the ${this.#n.maxPayload}-byte maximum`);
          return;
        }
      }
      let payload: Buffer[] | undefined;
      let pooled: Buffer | undefined;
      if (header.type === Command.WRITE && this.#direct && header.length > 0 && header.length % this.#sectorSize === 0) {
        const gathered = (this.#payload ??= { buffer: this.#pool.take(header.length), filled: 0 });
        const n = Math.min(reader.length, header.length - gathered.filled);
        if (n > 0) {
          reader.consume(n, (view) => {
            gathered.filled += view.copy(gathered.buffer, gathered.filled);
          });
        }
        if (gathered.filled < header.length) {
          this.#awaitingPayload = header;
          channel.resume();
          return;
        }
        this.#awaitingPayload = undefined;
        this.#payload = undefined;
        pooled = gathered.buffer;
        payload = [pooled];
      } else if (header.type === Command.WRITE) {
        // The whole payload is read before the device sees any of it: a WRITE cut short changes nothing.
        if (reader.length < header.length) {
          this.#awaitingPayload = header;
          channel.resume();
          return;
        }
        this.#awaitingPayload = undefined;
        if (header.length % this.#sectorSize === 0) payload = reader.takeAligned(header.length, this.#sectorSize);
        else reader.skip(header.length);
      }
      if (header.type === Command.DISC) {
        this.#stop();
        return;
      }
      this.#start(header, payload, pooled);
    }
  };

  /** `pooled`: the payload's buffer, given back to the pool once the device is done with it. */
  #start(header: RequestHeader, payload: Buffer[] | undefined, pooled?: Buffer): void {
    const bytes = header.type === Command.READ || header.type === Command.WRITE ? header.length : 0;
    this.#inFlight++;
    this.#inFlightBytes += bytes;
    const settle = () => {
      if (pooled) this.#pool.give(pooled);
      this.#inFlight--;
      this.#inFlightBytes -= bytes;
      if (this.#stopped) this.#closeWhenIdle();
      else if (this.#channel.paused) this.#pump();
    };
    let work: Promise<void>;
    try {
      work = this.#dispatch(header, payload);
    } catch (e) {
      this.#answerError(header, e);
      settle();
      return;
    }
    work.then(settle, (e: unknown) => {
      this.#answerError(header, e);
      settle();
    });
  }

  /** Starts one request. Refusals throw a RequestError; device failures reject. */
  #dispatch(header: RequestHeader, payload: Buffer[] | undefined): Promise<void> {
    if (this.#shuttingDown) throw new RequestError(Errno.ESHUTDOWN, 'the server is shutting down');
    const refused = validateRequest(header, this.#n);
    if (refused) throw new RequestError(refused.errno, refused.message);
    switch (header.type) {
      case Command.READ:
        return this.#read(header);
      case Command.WRITE:
        return this.#write(header, payload);
      case Command.FLUSH:
        return this.#flush().then(() => {
          this.#replyOk(header);
        });
      case Command.TRIM:
        return this.#trim(header);
      case Command.CACHE:
        this.#replyOk(header);
        return RESOLVED;
      case Command.WRITE_ZEROES:
        return this.#writeZeroes(header);
      case Command.BLOCK_STATUS:
        return this.#blockStatus(header);
      default:
        throw new RequestError(Errno.EINVAL, `unknown command ${header.type}`);
    }
  }

  #answerError(header: RequestHeader, e: unknown): void {
    if (e instanceof RequestError) {
      this.#replyError(header, e.errno, e.message);
      return;
    }
    // A rejection that is not a BlockError is a bug in the device: answered EIO, and reported.
    if (!isBlockError(e)) this.#onError(e instanceof Error ? e : new Error(thrownMessage(e), { cause: e }));
    const writeLike = header.type === Command.WRITE || header.type === Command.WRITE_ZEROES;
    this.#replyError(header, errnoFor(e, writeLike), thrownMessage(e));
  }

  #flush(): Promise<void> {
    return this.#device.flush ? this.#device.flush() : RESOLVED;
  }

  #read(header: RequestHeader): Promise<void> {
    if (header.length === 0) {
      this.#replyOk(header);
      return RESOLVED;
    }
    return serveRead(this.#reads, header);
  }

  #write(header: RequestHeader, payload: Buffer[] | undefined): Promise<void> {
    const written = header.length > 0 ? this.#device.write(header.offset / this.#sectorSize, payload!) : RESOLVED;
    const durable = header.flags & CommandFlag.FUA ? written.then(() => this.#flush()) : written;
    return durable.then(() => {
      this.#replyOk(header);
    });
  }

  async #trim(header: RequestHeader): Promise<void> {
    // A trim is a hint: the whole sectors inside the range are discarded.
    const first = Math.ceil(header.offset / this.#sectorSize);
    const end = Math.floor((header.offset + header.length) / this.#sectorSize);
    if (end > first) await this.#device.discard!(first, end - first);
    if (header.flags & CommandFlag.FUA) await this.#flush();
    this.#replyOk(header);
  }

  async #writeZeroes(header: RequestHeader): Promise<void> {
    const sector = header.offset / this.#sectorSize;
    await zeroRange(this.#device, sector, header.length / this.#sectorSize);
    if (header.flags & CommandFlag.FUA) await this.#flush();
    this.#replyOk(header);
  }

  async #blockStatus(header: RequestHeader): Promise<void> {
    const reqOne = (header.flags & CommandFlag.REQ_ONE) !== 0;
    const runs = await allocationRuns(this.#device, this.#n.info, header.offset, header.length, reqOne ? 1 : MAX_EXTENTS);
    const zeroFlags = this.#device.supports.sparse ? STATE_HOLE | STATE_ZERO : STATE_ZERO;
    const extents = runs.map((run) => ({ length: run.length, flags: run.zero ? zeroFlags : 0 }));
    this.#channel.write(encodeBlockStatusChunk(header.cookieHi, header.cookieLo, BASE_ALLOCATION_ID, extents));
  }

  #replyOk(header: RequestHeader): void {
    const { cookieHi, cookieLo } = header;
    // Structured replies: a READ must end with a chunk; anything else may take a simple reply.
    if (this.#n.structured && header.type === Command.READ) this.#channel.write(encodeNoneChunk(cookieHi, cookieLo));
    else this.#channel.write(encodeSimpleReply(0, cookieHi, cookieLo));
  }

  #replyError(header: RequestHeader, errno: number, message: string): void {
    const { cookieHi, cookieLo } = header;
    if (this.#n.structured) this.#channel.write(encodeErrorChunk(cookieHi, cookieLo, errno, `${errnoName(errno)}: ${message}`));
    else this.#channel.write(encodeSimpleReply(errno, cookieHi, cookieLo));
  }
}
