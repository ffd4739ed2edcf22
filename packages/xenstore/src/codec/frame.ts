import { XenstoreError } from '../errors.js';
import { HEADER_SIZE, PAYLOAD_MAX } from './limits.js';

/** One xenstore message: the 16-byte header's fields and the payload. */
export interface Frame {
  readonly type: number;
  readonly reqId: number;
  readonly txId: number;
  readonly payload: Uint8Array;
}

function isU32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff;
}

/**
 * Encodes one message. Throws `XenstoreError` `E2BIG` when the payload exceeds `maxPayload`
 * (4096, as libxenstore refuses locally) and `EINVAL` when a header field is not a u32.
 */
export function encodeFrame(frame: Frame, maxPayload = PAYLOAD_MAX): Uint8Array {
  const { type, reqId, txId, payload } = frame;
  if (!isU32(type) || !isU32(reqId) || !isU32(txId)) {
    throw new XenstoreError('EINVAL', `header fields must be u32 (type ${type}, req_id ${reqId}, tx_id ${txId})`);
  }
  if (payload.length > maxPayload) {
    throw new XenstoreError('E2BIG', `payload of ${payload.length} bytes exceeds ${maxPayload}`);
  }
  const out = new Uint8Array(HEADER_SIZE + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, type, true);
  view.setUint32(4, reqId, true);
  view.setUint32(8, txId, true);
  view.setUint32(12, payload.length, true);
  out.set(payload, HEADER_SIZE);
  return out;
}

/** A fresh Uint8Array (never a view: Buffer's `slice` would alias the chunk and pin its memory). */
function copyOf(bytes: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  // A short payload is copied faster by hand than through a view (a Buffer's costs a species lookup).
  if (end - start <= 64) for (let i = start; i < end; i++) out[i - start] = bytes[i]!;
  else out.set(bytes.subarray(start, end));
  return out;
}

function u32le(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

export interface DecodeResult {
  /** Every frame completed by this chunk, in order. */
  readonly frames: Frame[];
  /**
   * Set once the stream is unusable (a header announced more than `maxPayload` bytes): the caller
   * must drop the connection. Frames decoded before the bad header are still returned.
   */
  readonly error?: XenstoreError;
}

/**
 * Streaming decoder: feed it chunks exactly as they arrive; it reassembles frames across any
 * split and never throws. Payloads are copies, never views of the chunks pushed in.
 */
export class FrameDecoder {
  readonly #maxPayload: number;
  /** Bytes of an incomplete frame; never more than one header plus `maxPayload`. */
  readonly #stage: Uint8Array;
  #staged = 0;
  #error: XenstoreError | undefined;

  constructor(options: { maxPayload?: number } = {}) {
    this.#maxPayload = options.maxPayload ?? PAYLOAD_MAX;
    this.#stage = new Uint8Array(HEADER_SIZE + this.#maxPayload);
  }

  /** Bytes held back waiting for the rest of a frame. */
  get buffered(): number {
    return this.#staged;
  }

  /** The error that stopped this decoder, if any. */
  get error(): XenstoreError | undefined {
    return this.#error;
  }

  push(chunk: Uint8Array): DecodeResult {
    const frames: Frame[] = [];
    if (this.#error) return { frames, error: this.#error };
    let offset = 0;
    // Finish a frame already started in the staging buffer.
    if (this.#staged > 0) {
      offset = this.#fill(chunk, 0, HEADER_SIZE);
      if (this.#staged < HEADER_SIZE) return { frames };
      const len = u32le(this.#stage, 12);
      if (len > this.#maxPayload) return this.#fail(frames, len);
      offset = this.#fill(chunk, offset, HEADER_SIZE + len);
      if (this.#staged < HEADER_SIZE + len) return { frames };
      frames.push(this.#frameAt(this.#stage, 0, len));
      this.#staged = 0;
    }
    // Whole frames straight from the chunk.
    while (chunk.length - offset >= HEADER_SIZE) {
      const len = u32le(chunk, offset + 12);
      if (len > this.#maxPayload) return this.#fail(frames, len);
      if (chunk.length - offset < HEADER_SIZE + len) break;
      frames.push(this.#frameAt(chunk, offset, len));
      offset += HEADER_SIZE + len;
    }
    // Keep the tail; it is shorter than one frame, so it fits the staging buffer.
    if (offset < chunk.length) {
      this.#stage.set(chunk.subarray(offset), 0);
      this.#staged = chunk.length - offset;
    }
    return { frames };
  }

  /** Copies from chunk until the stage holds `upTo` bytes; returns the new chunk offset. */
  #fill(chunk: Uint8Array, offset: number, upTo: number): number {
    const take = Math.min(upTo - this.#staged, chunk.length - offset);
    if (take <= 0) return offset;
    this.#stage.set(chunk.subarray(offset, offset + take), this.#staged);
    this.#staged += take;
    return offset + take;
  }

  #frameAt(bytes: Uint8Array, at: number, len: number): Frame {
    return {
      type: u32le(bytes, at),
      reqId: u32le(bytes, at + 4),
      txId: u32le(bytes, at + 8),
      payload: copyOf(bytes, at + HEADER_SIZE, at + HEADER_SIZE + len),
    };
  }

  #fail(frames: Frame[], len: number): DecodeResult {
    this.#error = new XenstoreError('E2BIG', `frame announces a ${len}-byte payload; the limit is ${this.#maxPayload}`);
    this.#staged = 0;
    return { frames, error: this.#error };
  }
}
