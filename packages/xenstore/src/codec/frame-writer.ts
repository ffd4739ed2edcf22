import { HEADER_SIZE } from './limits.js';

/** Little-endian, without `writeUInt32LE`'s range checks (the fields are u32 already). */
function putU32(out: Uint8Array, at: number, value: number): void {
  out[at] = value;
  out[at + 1] = value >>> 8;
  out[at + 2] = value >>> 16;
  out[at + 3] = value >>> 24;
}

/**
 * Collects outgoing frames and hands them to `sink` as one contiguous buffer per tick: one
 * socket write instead of one per message (the dominant cost when many requests are in flight).
 * Callers pass frames already checked against the payload limit.
 */
export class FrameWriter {
  readonly #sink: (bytes: Uint8Array) => void;
  #headers: number[] = [];
  #payloads: Uint8Array[] = [];
  #bytes = 0;
  #scheduled = false;

  readonly #schedule: (flush: () => void) => void;
  readonly #hold: () => boolean;

  /**
   * `schedule` decides when a pending batch goes out: `process.nextTick` (right after the current
   * callback and its promise jobs) or `setImmediate` (after the event loop's other I/O callbacks).
   * When `hold` says so at that moment, the batch stays for a later one: the owner then promises to
   * call `kick` (or `flush`) again.
   */
  constructor(
    sink: (bytes: Uint8Array) => void,
    schedule: (flush: () => void) => void = (flush) => {
      process.nextTick(flush);
    },
    hold: () => boolean = () => false,
  ) {
    this.#sink = sink;
    this.#schedule = schedule;
    this.#hold = hold;
  }

  /** Bytes waiting for the next flush (headers included). */
  get bytes(): number {
    return this.#bytes;
  }

  push(type: number, reqId: number, txId: number, payload: Uint8Array): void {
    this.#headers.push(type, reqId, txId);
    this.#payloads.push(payload);
    this.#bytes += HEADER_SIZE + payload.length;
    this.kick();
  }

  /** Schedules a flush of what is pending, unless one is scheduled already. */
  kick(): void {
    if (this.#scheduled || this.#payloads.length === 0) return;
    this.#scheduled = true;
    this.#schedule(() => {
      this.#scheduled = false;
      if (!this.#hold()) this.flush();
    });
  }

  /** Writes everything pending now. */
  flush(): void {
    if (this.#payloads.length === 0) return;
    const out = Buffer.allocUnsafe(this.#bytes);
    const headers = this.#headers;
    const payloads = this.#payloads;
    let at = 0;
    for (let i = 0; i < payloads.length; i++) {
      const payload = payloads[i]!;
      putU32(out, at, headers[3 * i]!);
      putU32(out, at + 4, headers[3 * i + 1]!);
      putU32(out, at + 8, headers[3 * i + 2]!);
      putU32(out, at + 12, payload.length);
      out.set(payload, at + HEADER_SIZE);
      at += HEADER_SIZE + payload.length;
    }
    this.#headers = [];
    this.#payloads = [];
    this.#bytes = 0;
    this.#sink(out);
  }

  /** Drops whatever is pending. */
  clear(): void {
    this.#headers = [];
    this.#payloads = [];
    this.#bytes = 0;
  }
}
