/** A list of buffers addressed as one run of bytes: where READ reply data is copied. */
export class Scatter {
  readonly #parts: readonly Uint8Array[];
  readonly #starts: number[] = [];

  constructor(parts: readonly Uint8Array[]) {
    this.#parts = parts;
    let pos = 0;
    for (const part of parts) {
      this.#starts.push(pos);
      pos += part.byteLength;
    }
  }

  #index(pos: number): number {
    let lo = 0;
    let hi = this.#starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.#starts[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** A sink that copies consecutive views to consecutive positions from `pos`. */
  writer(pos: number): (view: Buffer) => void {
    let index = this.#index(pos);
    let within = pos - this.#starts[index]!;
    return (view) => {
      let from = 0;
      while (from < view.length) {
        const part = this.#parts[index]!;
        const n = Math.min(part.byteLength - within, view.length - from);
        part.set(view.subarray(from, from + n), within);
        from += n;
        within += n;
        if (within === part.byteLength) {
          index++;
          within = 0;
        }
      }
    };
  }

  /** The longest run of buffer memory from `pos`, at most `bytes` long (within one buffer). */
  region(pos: number, bytes: number): Uint8Array {
    const index = this.#index(pos);
    const part = this.#parts[index]!;
    const within = pos - this.#starts[index]!;
    return part.subarray(within, within + Math.min(bytes, part.byteLength - within));
  }

  zero(pos: number, bytes: number): void {
    let index = this.#index(pos);
    let within = pos - this.#starts[index]!;
    while (bytes > 0) {
      const part = this.#parts[index]!;
      const n = Math.min(part.byteLength - within, bytes);
      part.fill(0, within, within + n);
      bytes -= n;
      index++;
      within = 0;
    }
  }
}

/**
 * Splits a list of buffers into consecutive requests of at most `maxBytes` each, every piece a list
 * of views (no copies).
 */
export function splitBuffers(buffers: readonly Uint8Array[], maxBytes: number): { offset: number; length: number; parts: Uint8Array[] }[] {
  const out: { offset: number; length: number; parts: Uint8Array[] }[] = [];
  let current: { offset: number; length: number; parts: Uint8Array[] } | undefined;
  let pos = 0;
  for (const buffer of buffers) {
    let from = 0;
    while (from < buffer.byteLength) {
      if (!current || current.length === maxBytes) {
        current = { offset: pos, length: 0, parts: [] };
        out.push(current);
      }
      const n = Math.min(maxBytes - current.length, buffer.byteLength - from);
      current.parts.push(from === 0 && n === buffer.byteLength ? buffer : buffer.subarray(from, from + n));
      current.length += n;
      from += n;
      pos += n;
    }
  }
  return out;
}
