/**
 * An incremental reader over the chunks a socket delivers, shared by server and client. Chunks are
 * kept as they arrived (no concatenation per event); bytes are copied only when a fixed-size field
 * straddles two chunks, or when a caller asks for a contiguous buffer that does.
 */
export class FrameReader {
  readonly #chunks: Buffer[] = [];
  /** Bytes of `#chunks[0]` already consumed. */
  #offset = 0;
  #length = 0;
  #waiter: { bytes: number; resolve: () => void; reject: (error: Error) => void } | undefined;
  #failure: Error | undefined;

  /** Unconsumed bytes. */
  get length(): number {
    return this.#length;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    const waiter = this.#waiter;
    if (waiter && this.#length >= waiter.bytes) {
      this.#waiter = undefined;
      waiter.resolve();
    }
  }

  /** No more bytes will come: a pending and every later `readable` rejects with `error`. */
  fail(error: Error): void {
    this.#failure ??= error;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(this.#failure);
  }

  /** Resolves once at least `bytes` are buffered; one waiter at a time. */
  readable(bytes: number): Promise<void> {
    if (this.#length >= bytes) return Promise.resolve();
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#waiter) return Promise.reject(new Error('FrameReader: concurrent reads'));
    return new Promise((resolve, reject) => {
      this.#waiter = { bytes, resolve, reject };
    });
  }

  /** Waits for and consumes `bytes` as one contiguous buffer. */
  async exact(bytes: number): Promise<Buffer> {
    await this.readable(bytes);
    return this.take(bytes);
  }

  /**
   * Where the next `bytes` (buffered) can be read in place: the first chunk and an offset in it
   * when they lie there (no view is made), else a copy at offset 0. Not consumed.
   */
  locate(bytes: number): [Buffer, number] {
    const first = this.#chunks[0];
    if (first && first.length - this.#offset >= bytes) return [first, this.#offset];
    return [this.peek(bytes), 0];
  }

  /** The next `bytes` (which must be buffered) as one buffer, not consumed. */
  peek(bytes: number): Buffer {
    const first = this.#chunks[0];
    if (first && first.length - this.#offset >= bytes) return first.subarray(this.#offset, this.#offset + bytes);
    const out = Buffer.allocUnsafe(bytes);
    let filled = 0;
    let skip = this.#offset;
    for (const chunk of this.#chunks) {
      if (filled === bytes) break;
      filled += chunk.copy(out, filled, skip, Math.min(chunk.length, skip + bytes - filled));
      skip = 0;
    }
    return out;
  }

  /** Consumes `bytes` (which must be buffered) as one buffer: a view when they lie in one chunk. */
  take(bytes: number): Buffer {
    const out = this.peek(bytes);
    this.skip(bytes);
    return out;
  }

  skip(bytes: number): void {
    this.#length -= bytes;
    while (bytes > 0) {
      const first = this.#chunks[0]!;
      const left = first.length - this.#offset;
      if (bytes < left) {
        this.#offset += bytes;
        return;
      }
      bytes -= left;
      this.#chunks.shift();
      this.#offset = 0;
    }
  }

  /**
   * Consumes `bytes` (buffered) and hands them to `sink` as consecutive views, without copying.
   * The views stay valid after the call: chunks are never reused.
   */
  consume(bytes: number, sink: (view: Buffer) => void): void {
    this.#length -= bytes;
    while (bytes > 0) {
      const first = this.#chunks[0]!;
      const end = Math.min(first.length, this.#offset + bytes);
      sink(first.subarray(this.#offset, end));
      bytes -= end - this.#offset;
      if (end === first.length) {
        this.#chunks.shift();
        this.#offset = 0;
      } else {
        this.#offset = end;
      }
    }
  }

  /**
   * Consumes `bytes` (buffered, a multiple of `grain`) as a list of buffers whose lengths are each a
   * multiple of `grain`: views of the received chunks, plus one `grain`-sized copy wherever a grain
   * straddles two chunks. This is how a WRITE payload reaches a device without being reassembled.
   */
  takeAligned(bytes: number, grain: number): Buffer[] {
    const first = this.#chunks[0];
    if (first && first.length - this.#offset >= bytes) return [this.take(bytes)];
    const out: Buffer[] = [];
    let carry: Buffer | undefined;
    let carried = 0;
    this.consume(bytes, (view) => {
      let start = 0;
      if (carry) {
        const n = Math.min(grain - carried, view.length);
        view.copy(carry, carried, 0, n);
        carried += n;
        start = n;
        if (carried === grain) {
          out.push(carry);
          carry = undefined;
        }
      }
      const whole = Math.floor((view.length - start) / grain) * grain;
      if (whole > 0) {
        out.push(view.subarray(start, start + whole));
        start += whole;
      }
      if (start < view.length) {
        carry = Buffer.allocUnsafe(grain);
        carried = view.copy(carry, 0, start);
      }
    });
    return out;
  }

  /**
   * After `chunk` (a buffer the caller will overwrite) was pushed and parsed: whatever of it is
   * still unconsumed is replaced by a copy, so it survives the buffer's reuse.
   */
  adopt(chunk: Buffer): void {
    const last = this.#chunks.length - 1;
    if (last < 0 || this.#chunks[last] !== chunk) return;
    const start = last === 0 ? this.#offset : 0;
    this.#chunks[last] = Buffer.from(chunk.subarray(start));
    if (last === 0) this.#offset = 0;
  }
}
