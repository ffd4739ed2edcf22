/**
 * The buffers of one read, addressed by image byte offset: `copy` puts bytes that arrived
 * wherever they belong, `seal` stops any later copy (the read has settled and the buffers are the
 * caller's again).
 */
export class Scatter {
  readonly #buffers: readonly Uint8Array[];
  /** Image offset of each buffer's first byte. */
  readonly #starts: number[] = [];
  readonly #end: number;
  #sealed = false;

  constructor(buffers: readonly Uint8Array[], start: number) {
    this.#buffers = buffers;
    let at = start;
    for (const buffer of buffers) {
      this.#starts.push(at);
      at += buffer.byteLength;
    }
    this.#end = at;
  }

  /** Copies `data`, the image bytes from `offset`, into the part of the buffers it overlaps. */
  copy(offset: number, data: Uint8Array): void {
    if (this.#buffers.length === 1) {
      // One buffer (most reads): no search, no callback.
      if (this.#sealed) return;
      const first = this.#starts[0]!;
      const from = Math.max(offset, first);
      const to = Math.min(offset + data.byteLength, this.#end);
      if (to > from) this.#buffers[0]!.set(data.subarray(from - offset, to - offset), from - first);
      return;
    }
    this.#each(offset, offset + data.byteLength, (buffer, into, from, length) => {
      buffer.set(data.subarray(from - offset, from - offset + length), into);
    });
  }

  /** Zeroes the buffers' bytes for image bytes [from, to). */
  zero(from: number, to: number): void {
    this.#each(from, to, (buffer, into, _from, length) => buffer.fill(0, into, into + length));
  }

  seal(): void {
    this.#sealed = true;
  }

  #each(from: number, to: number, act: (buffer: Uint8Array, into: number, from: number, length: number) => void): void {
    if (this.#sealed || this.#buffers.length === 0 || to <= this.#starts[0]! || from >= this.#end) return;
    // The last buffer starting at or before `from`.
    let lo = 0;
    let hi = this.#buffers.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#starts[mid]! <= from) lo = mid;
      else hi = mid - 1;
    }
    for (let i = lo; i < this.#buffers.length; i++) {
      const bufferStart = this.#starts[i]!;
      if (bufferStart >= to) break;
      const buffer = this.#buffers[i]!;
      const a = Math.max(from, bufferStart);
      const b = Math.min(to, bufferStart + buffer.byteLength);
      if (b > a) act(buffer, a - bufferStart, a, b - a);
    }
  }
}
