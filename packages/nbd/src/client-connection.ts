import { BlockError } from '@blk/core';
import type { Channel } from './channel.js';
import { ChunkType, Command, Errno, ReplyFlag, isErrorChunk } from './constants.js';
import { blockErrorFor } from './errno.js';
import type { ExportDetails } from './client-handshake.js';
import { Scatter } from './scatter.js';
import {
  decodeErrorPayload,
  decodeReplyHeader,
  encodeRequest,
  readU64,
  replyHeaderBytes,
  type BlockStatusExtent,
  type ChunkHeader,
} from './transmission-codec.js';

export interface ConnectionOptions {
  /** A request not answered within this many ms fails the connection (0: never). */
  readonly requestTimeoutMs: number;
  /** Largest structured chunk payload accepted (a bigger one is a protocol violation). */
  readonly maxChunkBytes: number;
  /** Waiting for requests in flight when disconnecting, and for the server to close, at most this long. */
  readonly closeGraceMs: number;
}

/** Direct reads into the caller's buffer are used for regions at least this large. */
const DIRECT_MIN_BYTES = 16 << 10;

/** A READ payload being received: where its next byte goes and how many are left. */
interface DataInFlight {
  readonly cookie: number;
  readonly request: Pending;
  pos: number;
  remaining: number;
  /** The chunk (or simple reply) ends the request. */
  readonly done: boolean;
}

interface Pending {
  readonly type: number;
  readonly offset: number;
  readonly length: number;
  readonly what: string;
  readonly deadline: number;
  /** Where READ data goes. */
  readonly into: Scatter | undefined;
  readonly resolve: (extents: BlockStatusExtent[] | undefined) => void;
  readonly reject: (error: BlockError) => void;
  error: { errno: number; message: string } | undefined;
  /** Byte ranges [start, end) relative to the request that content chunks covered. */
  covered: [number, number][] | undefined;
  extents: BlockStatusExtent[] | undefined;
}

/**
 * The transmission phase of one client connection: sends requests (header and payload in one
 * writev), matches replies to requests by cookie, validates every reply against its request and
 * copies READ data straight into the caller's buffers.
 */
export class ClientConnection {
  readonly #channel: Channel;
  readonly #details: ExportDetails;
  readonly #options: ConnectionOptions;
  readonly #pending = new Map<number, Pending>();
  #nextCookie = 1;
  #failure: BlockError | undefined;
  /** The server answered ESHUTDOWN: no new requests; we disconnect once idle. */
  #draining = false;
  #closing = false;
  #timer: NodeJS.Timeout | undefined;
  #idle: (() => void) | undefined;
  #data: DataInFlight | undefined;

  constructor(channel: Channel, details: ExportDetails, options: ConnectionOptions) {
    this.#channel = channel;
    this.#details = details;
    this.#options = options;
    channel.onData = this.#pump;
    channel.onClose = (error) => {
      this.#fail(BlockError.io('the NBD connection was closed', error));
    };
    if (channel.closed) this.#fail(BlockError.io('the NBD connection was closed'));
    else this.#pump();
  }

  get details(): ExportDetails {
    return this.#details;
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** False once the connection failed, is draining or is being closed. */
  get usable(): boolean {
    return !this.#failure && !this.#draining && !this.#closing;
  }

  /** Why the connection failed, if it did. */
  get failure(): BlockError | undefined {
    return this.#failure;
  }

  /**
   * Sends one request. Resolves when the server has answered it successfully (with the extents
   * for BLOCK_STATUS), rejects with a BlockError otherwise.
   */
  request(
    type: number,
    flags: number,
    offset: number,
    length: number,
    what: string,
    data?: { readonly payload?: readonly Uint8Array[]; readonly into?: Scatter },
  ): Promise<BlockStatusExtent[] | undefined> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (!this.usable) return Promise.reject(BlockError.io('the NBD connection is closing'));
    const cookie = this.#nextCookie++;
    return new Promise((resolve, reject) => {
      const timeout = this.#options.requestTimeoutMs;
      this.#pending.set(cookie, {
        type,
        offset,
        length,
        what,
        deadline: timeout > 0 ? performance.now() + timeout : Number.POSITIVE_INFINITY,
        into: data?.into,
        resolve,
        reject,
        error: undefined,
        covered: undefined,
        extents: undefined,
      });
      this.#channel.write(encodeRequest(flags, type, cookie, offset, length));
      for (const part of data?.payload ?? []) this.#channel.write(part);
      if (timeout > 0 && !this.#timer) {
        this.#timer = setInterval(this.#checkDeadlines, Math.max(10, Math.min(1000, timeout / 4)));
        this.#timer.unref();
      }
    });
  }

  readonly #checkDeadlines = (): void => {
    const oldest = this.#pending.values().next();
    if (oldest.done) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    if (performance.now() > oldest.value.deadline) {
      this.#fail(BlockError.io(`${oldest.value.what}: no reply from the NBD server within ${this.#options.requestTimeoutMs} ms`));
      this.#channel.destroy();
    }
  };

  /** Soft disconnect: waits (bounded) for requests in flight, sends DISC and closes. */
  async disconnect(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      if (this.#pending.size > 0 && !this.#failure) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.#options.closeGraceMs);
          this.#idle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      this.#idle = undefined;
      if (!this.#failure) this.#channel.write(encodeRequest(0, Command.DISC, this.#nextCookie++, 0, 0));
      this.#channel.end();
      const timer = setTimeout(() => {
        this.#channel.destroy();
      }, this.#options.closeGraceMs);
      await this.#channel.whenClosed();
      clearTimeout(timer);
      this.#fail(BlockError.disconnected('NBD connection'));
    }
    await this.#channel.whenClosed();
  }

  #fail(error: BlockError): void {
    if (this.#failure) return;
    this.#failure = error;
    this.#data = undefined;
    clearInterval(this.#timer);
    this.#timer = undefined;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const request of pending) request.reject(error);
    this.#idle?.();
  }

  #protocolError(message: string): void {
    this.#fail(BlockError.io(`the NBD server violated the protocol: ${message}`));
    this.#channel.destroy();
  }

  readonly #pump = (): void => {
    const reader = this.#channel.reader;
    while (!this.#failure) {
      const data = this.#data;
      if (data) {
        // READ data streams into the caller's buffers as it arrives.
        const n = Math.min(data.remaining, reader.length);
        if (n > 0) {
          reader.consume(n, data.request.into!.writer(data.pos));
          this.#advance(data, n);
        }
        if (this.#data) return;
        continue;
      }
      if (reader.length < 4) return;
      const headerBytes = replyHeaderBytes(reader.peek(4).readUInt32BE(0));
      if (headerBytes === undefined) {
        this.#protocolError('bad reply magic');
        return;
      }
      if (reader.length < headerBytes) return;
      const header = decodeReplyHeader(reader.peek(headerBytes));
      const request = this.#pending.get(header.cookie);
      if (!request) {
        this.#protocolError(`a reply for cookie ${header.cookie}, which is not in flight`);
        return;
      }
      if (header.kind === 'simple') {
        const withData = header.error === 0 && request.type === Command.READ && request.length > 0;
        if (withData && this.#details.structured) {
          this.#protocolError('a simple reply to READ after structured replies were negotiated');
          return;
        }
        reader.skip(headerBytes);
        if (header.error !== 0) request.error = { errno: header.error, message: '' };
        if (withData) this.#data = { cookie: header.cookie, request, pos: 0, remaining: request.length, done: true };
        else this.#complete(header.cookie, request);
        continue;
      }
      if (!this.#details.structured) {
        this.#protocolError('a structured reply chunk without negotiation');
        return;
      }
      if (header.length > this.#options.maxChunkBytes) {
        this.#protocolError(`a reply chunk of ${header.length} bytes`);
        return;
      }
      // Data chunks stream in once their offset is known; other chunks are read whole (they are small).
      const streamed = header.type === ChunkType.OFFSET_DATA && header.length >= 9;
      if (reader.length < headerBytes + (streamed ? 8 : header.length)) return;
      reader.skip(headerBytes);
      const problem = this.#chunk(header.cookie, request, header);
      if (problem !== undefined) {
        this.#protocolError(problem);
        return;
      }
      if (header.flags & ReplyFlag.DONE && !this.#data) this.#complete(header.cookie, request);
    }
  };

  #advance(data: DataInFlight, n: number): void {
    data.pos += n;
    data.remaining -= n;
    if (data.remaining > 0) return;
    this.#data = undefined;
    if (data.done) this.#complete(data.cookie, data.request);
  }

  /**
   * Where the next bytes from the socket may land directly: the caller's buffer for the READ data
   * being received, when nothing else is buffered and the region is large enough to be worth a
   * read of its own. Undefined otherwise.
   */
  directTarget(): Uint8Array | undefined {
    const data = this.#data;
    if (!data || this.#channel.reader.length > 0 || data.remaining < DIRECT_MIN_BYTES) return undefined;
    const region = data.request.into!.region(data.pos, data.remaining);
    return region.byteLength >= DIRECT_MIN_BYTES ? region : undefined;
  }

  /** `n` bytes were received straight into the region `directTarget` gave. */
  receivedDirect(n: number): void {
    const data = this.#data;
    if (!data) return;
    this.#advance(data, n);
    this.#pump();
  }

  /** Consumes one chunk's payload; returns a description of what is wrong with it, if anything. */
  #chunk(cookie: number, request: Pending, header: ChunkHeader): string | undefined {
    const reader = this.#channel.reader;
    const { type, length } = header;
    const isRead = request.type === Command.READ;
    const inRequest = (offset: number, bytes: number) => offset >= request.offset && offset + bytes <= request.offset + request.length;
    switch (type) {
      case ChunkType.NONE:
        if (length !== 0 || !(header.flags & ReplyFlag.DONE)) return 'a NONE chunk with a payload or without DONE';
        return undefined;
      case ChunkType.OFFSET_DATA: {
        if (!isRead || length < 9) return `an OFFSET_DATA chunk of ${length} bytes for ${request.what}`;
        const offset = readU64(...reader.locate(8));
        reader.skip(8);
        const bytes = length - 8;
        if (!inRequest(offset, bytes)) return `data at [${offset}, +${bytes}) outside ${request.what}`;
        const rel = offset - request.offset;
        (request.covered ??= []).push([rel, rel + bytes]);
        this.#data = { cookie, request, pos: rel, remaining: bytes, done: (header.flags & ReplyFlag.DONE) !== 0 };
        return undefined;
      }
      case ChunkType.OFFSET_HOLE: {
        if (!isRead || length !== 12) return `an OFFSET_HOLE chunk of ${length} bytes for ${request.what}`;
        const payload = reader.take(12);
        const offset = readU64(payload, 0);
        const bytes = payload.readUInt32BE(8);
        if (bytes === 0 || !inRequest(offset, bytes)) return `a hole at [${offset}, +${bytes}) outside ${request.what}`;
        const rel = offset - request.offset;
        (request.covered ??= []).push([rel, rel + bytes]);
        request.into!.zero(rel, bytes);
        return undefined;
      }
      case ChunkType.BLOCK_STATUS: {
        if (request.type !== Command.BLOCK_STATUS || length < 12 || (length - 4) % 8 !== 0) {
          return `a BLOCK_STATUS chunk of ${length} bytes for ${request.what}`;
        }
        const payload = reader.take(length);
        if (payload.readUInt32BE(0) !== this.#details.allocationContext) return 'block status for a context we did not select';
        if (request.extents) return 'two block status chunks for one context';
        const extents: BlockStatusExtent[] = [];
        for (let pos = 4; pos < length; pos += 8) {
          const extentLength = payload.readUInt32BE(pos);
          if (extentLength === 0) return 'a block status extent of length 0';
          extents.push({ length: extentLength, flags: payload.readUInt32BE(pos + 4) });
        }
        request.extents = extents;
        return undefined;
      }
      default: {
        if (!isErrorChunk(type)) {
          reader.skip(length);
          return `an unknown chunk type ${type}`;
        }
        const parsed = length >= 6 ? decodeErrorPayload(reader.take(length)) : undefined;
        if (!parsed) return `a malformed error chunk of ${length} bytes`;
        if (type === ChunkType.ERROR_OFFSET && parsed.rest.length !== 8) return 'an ERROR_OFFSET chunk without its offset';
        // The protocol says a client treats unknown errors (and a zero one) as EINVAL.
        request.error ??= { errno: parsed.error === 0 ? Errno.EINVAL : parsed.error, message: parsed.message };
        return undefined;
      }
    }
  }

  #complete(cookie: number, request: Pending): void {
    this.#pending.delete(cookie);
    if (this.#pending.size === 0) this.#idle?.();
    if (request.error) {
      if (request.error.errno === Errno.ESHUTDOWN) this.#drain();
      request.reject(blockErrorFor(request.error.errno, request.error.message, request.what));
      return;
    }
    if (request.type === Command.READ && this.#details.structured && request.length > 0) {
      const problem = coverageProblem(request.covered ?? [], request.length);
      if (problem) {
        request.reject(BlockError.io(`${request.what}: the NBD server's reply ${problem}`));
        return;
      }
    }
    if (request.type === Command.BLOCK_STATUS && !request.extents) {
      request.reject(BlockError.io(`${request.what}: the NBD server sent no block status`));
      return;
    }
    request.resolve(request.extents);
  }

  /** The server is shutting down: take no more requests and disconnect once idle (the protocol's soft disconnect). */
  #drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    void this.disconnect();
  }
}

/** Why content chunks do not exactly cover [0, length), or undefined when they do. */
function coverageProblem(covered: [number, number][], length: number): string | undefined {
  if (covered.length === 1) {
    const [start, end] = covered[0]!;
    return start === 0 && end === length ? undefined : 'left part of the read uncovered';
  }
  covered.sort((a, b) => a[0] - b[0]);
  let pos = 0;
  for (const [start, end] of covered) {
    if (start < pos) return 'has overlapping chunks';
    if (start > pos) return 'left part of the read uncovered';
    pos = end;
  }
  return pos === length ? undefined : 'left part of the read uncovered';
}
