import { isSeekable, zeroRange, type BlockDevice } from '@blk/core';
import { allocationRuns, type AllocationRun } from './allocation.js';
import type { Channel } from './channel.js';
import {
  Command,
  CommandFlag,
  Errno,
  REQUEST_HEADER_BYTES,
  SIMPLE_REPLY_BYTES,
  STATE_HOLE,
  STATE_ZERO,
} from './constants.js';
import { errnoFor, errnoName } from './errno.js';
import { canZeroFast } from './export-flags.js';
import { BASE_ALLOCATION_ID, type Negotiated } from './server-handshake.js';
import type { ServerLimits } from './server-options.js';
import {
  DATA_CHUNK_PREFIX_BYTES,
  decodeRequest,
  encodeBlockStatusChunk,
  encodeErrorChunk,
  encodeHoleChunk,
  encodeNoneChunk,
  encodeSimpleReply,
  writeDataChunkPrefix,
  writeSimpleReply,
  type RequestHeader,
} from './transmission-codec.js';

/** Reads at least this long on a seekable device are answered with OFFSET_HOLE chunks for zero runs. */
const SPARSE_READ_BYTES = 64 << 10;
/** Chunks per sparse read reply. */
const MAX_READ_RUNS = 64;
/** Extents per BLOCK_STATUS reply (the protocol allows 2^20; a client asks again for the rest). */
const MAX_EXTENTS = 16384;

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
  #inFlight = 0;
  #inFlightBytes = 0;
  /** No more requests are read: DISC, end of input, a violation, or the server closing. */
  #stopped = false;
  #shuttingDown = false;
  #finished = false;
  #closing = false;
  readonly #done: Promise<void>;
  #resolveDone!: () => void;

  constructor(channel: Channel, negotiated: Negotiated, limits: ServerLimits, onError: (error: Error) => void) {
    this.#channel = channel;
    this.#n = negotiated;
    this.#device = negotiated.export.device;
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
    channel.stream.once('close', () => {
      this.#finish();
    });
    if (channel.closed || channel.stream.destroyed) this.#finish();
    else this.#pump();
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
      if (
        this.#inFlight >= limits.maxInFlightRequests ||
        this.#inFlightBytes >= limits.maxInFlightBytes ||
        channel.queuedBytes >= limits.maxInFlightBytes
      ) {
        channel.pause();
        return;
      }
      if (reader.length < REQUEST_HEADER_BYTES) {
        channel.resume();
        return;
      }
      const header = decodeRequest(reader.peek(REQUEST_HEADER_BYTES));
      if (!header) {
        this.#violation('bad request magic');
        return;
      }
      let payload: Buffer[] | undefined;
      if (header.type === Command.WRITE) {
        if (header.length > this.#n.maxPayload) {
          this.#violation(`a WRITE of ${header.length} bytes is over the ${this.#n.maxPayload}-byte maximum`);
          return;
        }
        if (reader.length < REQUEST_HEADER_BYTES + header.length) {
          channel.resume();
          return;
        }
        reader.skip(REQUEST_HEADER_BYTES);
        if (header.length % this.#sectorSize === 0) payload = reader.takeAligned(header.length, this.#sectorSize);
        else reader.skip(header.length);
      } else {
        reader.skip(REQUEST_HEADER_BYTES);
      }
      if (header.type === Command.DISC) {
        this.#stop();
        return;
      }
      this.#start(header, payload);
    }
  };

  #start(header: RequestHeader, payload: Buffer[] | undefined): void {
    const bytes = header.type === Command.READ || header.type === Command.WRITE ? header.length : 0;
    this.#inFlight++;
    this.#inFlightBytes += bytes;
    const settle = () => {
      this.#inFlight--;
      this.#inFlightBytes -= bytes;
      if (this.#stopped) this.#closeWhenIdle();
      else if (this.#channel.paused) this.#pump();
    };
    this.#handle(header, payload).then(settle, (error: unknown) => {
      // Handlers answer every expected failure themselves; this is a bug in the device or here.
      this.#onError(error instanceof Error ? error : new Error(String(error)));
      this.#replyError(header, Errno.EIO, 'internal error');
      settle();
    });
  }

  async #handle(header: RequestHeader, payload: Buffer[] | undefined): Promise<void> {
    if (this.#shuttingDown) {
      this.#replyError(header, Errno.ESHUTDOWN, 'the server is shutting down');
      return;
    }
    try {
      switch (header.type) {
        case Command.READ:
          await this.#read(header);
          return;
        case Command.WRITE:
          await this.#write(header, payload);
          return;
        case Command.FLUSH:
          this.#check(header, CommandFlag.FUA, false, false);
          await this.#flush();
          this.#replyOk(header);
          return;
        case Command.TRIM:
          await this.#trim(header);
          return;
        case Command.CACHE:
          this.#check(header, CommandFlag.FUA, false, false);
          this.#replyOk(header);
          return;
        case Command.WRITE_ZEROES:
          await this.#writeZeroes(header);
          return;
        case Command.BLOCK_STATUS:
          await this.#blockStatus(header);
          return;
        default:
          throw new RequestError(Errno.EINVAL, `unknown command ${header.type}`);
      }
    } catch (e) {
      if (e instanceof RequestError) this.#replyError(header, e.errno, e.message);
      else {
        const writeLike = header.type === Command.WRITE || header.type === Command.WRITE_ZEROES;
        this.#replyError(header, errnoFor(e, writeLike), e instanceof Error ? e.message : String(e));
      }
    }
  }

  /**
   * The checks of reference §1.4, in nbdkit's order: unknown flags → EINVAL; a write on a
   * read-only export → EPERM; past the end → ENOSPC for writes and zeroes, EINVAL otherwise;
   * misaligned (when `aligned`) → EINVAL.
   */
  #check(header: RequestHeader, allowed: number, writeLike: boolean, aligned: boolean, spaceError: number = Errno.ENOSPC): void {
    const { flags, offset, length } = header;
    if ((flags & ~allowed) !== 0) throw new RequestError(Errno.EINVAL, `flags 0x${flags.toString(16)} are not valid here`);
    if (writeLike && !this.#n.info.readWrite) throw new RequestError(Errno.EPERM, 'the export is read-only');
    if (offset + length > this.#n.sizeBytes) {
      throw new RequestError(writeLike ? spaceError : Errno.EINVAL, `[${offset}, +${length}) runs past the end (${this.#n.sizeBytes})`);
    }
    if (aligned && (offset % this.#sectorSize !== 0 || length % this.#sectorSize !== 0)) {
      throw new RequestError(Errno.EINVAL, `[${offset}, +${length}) is not aligned to ${this.#sectorSize} bytes`);
    }
  }

  async #flush(): Promise<void> {
    if (this.#device.flush) await this.#device.flush();
  }

  async #read(header: RequestHeader): Promise<void> {
    const structured = this.#n.structured;
    this.#check(header, CommandFlag.FUA | (structured ? CommandFlag.DF : 0), false, true);
    const { offset, length, cookieHi, cookieLo } = header;
    if (length > this.#n.maxPayload) throw new RequestError(Errno.EINVAL, `a READ of ${length} bytes is over the maximum`);
    if (length === 0) {
      this.#replyOk(header);
      return;
    }
    const sector = offset / this.#sectorSize;
    if (structured && length >= SPARSE_READ_BYTES && (header.flags & CommandFlag.DF) === 0 && isSeekable(this.#device)) {
      const runs = await allocationRuns(this.#device, this.#n.info, offset, length, MAX_READ_RUNS);
      if (runs.length > 1 || runs[0]?.zero) {
        await this.#sparseRead(header, runs);
        return;
      }
    }
    const prefix = structured ? DATA_CHUNK_PREFIX_BYTES : SIMPLE_REPLY_BYTES;
    const out = Buffer.allocUnsafe(prefix + length);
    await this.#device.read(sector, [out.subarray(prefix)]);
    if (structured) writeDataChunkPrefix(out, 0, true, cookieHi, cookieLo, offset, length);
    else writeSimpleReply(out, 0, 0, cookieHi, cookieLo);
    this.#channel.write(out);
  }

  /** Data runs as OFFSET_DATA, zero runs as OFFSET_HOLE; read fully before anything is sent. */
  async #sparseRead(header: RequestHeader, runs: readonly AllocationRun[]): Promise<void> {
    const { cookieHi, cookieLo } = header;
    const end = header.offset + header.length;
    const covered = runs.at(-1)!;
    // A capped answer covers a prefix: the rest goes out as one data chunk.
    const all = covered.offset + covered.length < end
      ? [...runs, { offset: covered.offset + covered.length, length: end - covered.offset - covered.length, zero: false }]
      : runs;
    const chunks = await Promise.all(
      all.map(async (run, i) => {
        const done = i === all.length - 1;
        if (run.zero) return encodeHoleChunk(done, cookieHi, cookieLo, run.offset, run.length);
        const out = Buffer.allocUnsafe(DATA_CHUNK_PREFIX_BYTES + run.length);
        await this.#device.read(run.offset / this.#sectorSize, [out.subarray(DATA_CHUNK_PREFIX_BYTES)]);
        writeDataChunkPrefix(out, 0, done, cookieHi, cookieLo, run.offset, run.length);
        return out;
      }),
    );
    for (const chunk of chunks) this.#channel.write(chunk);
  }

  async #write(header: RequestHeader, payload: Buffer[] | undefined): Promise<void> {
    this.#check(header, CommandFlag.FUA, true, true);
    if (header.length > 0) await this.#device.write(header.offset / this.#sectorSize, payload!);
    if (header.flags & CommandFlag.FUA) await this.#flush();
    this.#replyOk(header);
  }

  async #trim(header: RequestHeader): Promise<void> {
    this.#check(header, CommandFlag.FUA, true, false, Errno.EINVAL);
    const discard = this.#device.discard?.bind(this.#device);
    if (!discard || !this.#device.supports.discard) throw new RequestError(Errno.EINVAL, 'TRIM is not supported by this export');
    // A trim is a hint: the whole sectors inside the range are discarded.
    const first = Math.ceil(header.offset / this.#sectorSize);
    const end = Math.floor((header.offset + header.length) / this.#sectorSize);
    if (end > first) await discard(first, end - first);
    if (header.flags & CommandFlag.FUA) await this.#flush();
    this.#replyOk(header);
  }

  async #writeZeroes(header: RequestHeader): Promise<void> {
    this.#check(header, CommandFlag.FUA | CommandFlag.NO_HOLE | CommandFlag.FAST_ZERO, true, true);
    if (header.flags & CommandFlag.FAST_ZERO && !canZeroFast(this.#device)) {
      throw new RequestError(Errno.ENOTSUP, 'zeroing is not faster than writing on this export');
    }
    const sector = header.offset / this.#sectorSize;
    await zeroRange(this.#device, sector, header.length / this.#sectorSize);
    if (header.flags & CommandFlag.FUA) await this.#flush();
    this.#replyOk(header);
  }

  async #blockStatus(header: RequestHeader): Promise<void> {
    if (!this.#n.blockStatus) throw new RequestError(Errno.EINVAL, 'no meta context was selected for this export');
    this.#check(header, CommandFlag.FUA | CommandFlag.REQ_ONE, false, false);
    if (header.length === 0) throw new RequestError(Errno.EINVAL, 'BLOCK_STATUS of length 0');
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
