/**
 * Allocates slots (page frames) from a fixed range, preferring one contiguous run so that a
 * request's pages can be copied with one `set` and served by the backend as one buffer; falls
 * back to scattered slots when the range is fragmented. Freed slots are searched first: a data
 * page is written by one thread and read by the other, and one used again soon is still in the
 * caches, where a fresh one costs both threads a trip to memory. Not shared between threads.
 */
export class FrameAllocator {
  readonly size: number;
  #free: number;
  #rover = 0;
  readonly #used: Uint8Array;

  constructor(size: number) {
    this.size = size;
    this.#free = size;
    this.#used = new Uint8Array(size);
  }

  get free(): number {
    return this.#free;
  }

  /** `count` slots (contiguous if possible, or only if `contiguous`), or undefined if there are not enough. */
  allocate(count: number, contiguous = false): number[] | undefined {
    if (count <= 0) return [];
    if (count > this.#free) return undefined;
    if (count === 1 && this.#used[this.#rover] === 0) {
      const slot = this.#rover;
      this.#used[slot] = 1;
      this.#free--;
      this.#rover = (slot + 1) % this.size;
      return [slot];
    }
    const start = this.#findRun(count);
    if (start !== undefined) {
      const out = new Array<number>(count);
      for (let i = 0; i < count; i++) {
        this.#used[start + i] = 1;
        out[i] = start + i;
      }
      this.#free -= count;
      this.#rover = (start + count) % this.size;
      return out;
    }
    if (contiguous) return undefined;
    const out: number[] = [];
    for (let i = 0, slot = this.#rover; out.length < count && i < this.size; i++, slot = (slot + 1) % this.size) {
      if (this.#used[slot] === 0) {
        this.#used[slot] = 1;
        out.push(slot);
      }
    }
    this.#free -= out.length;
    return out;
  }

  release(slots: readonly number[]): void {
    let lowest = this.#rover;
    for (const slot of slots) {
      if (this.#used[slot] !== 1) throw new Error(`slot ${slot} released twice`);
      this.#used[slot] = 0;
      if (slot < lowest) lowest = slot;
    }
    this.#free += slots.length;
    this.#rover = lowest;
  }

  /** First run of `count` free slots at or after the rover (wrapping once), or undefined. */
  #findRun(count: number): number | undefined {
    const used = this.#used;
    const size = this.size;
    let runStart = this.#rover;
    let run = 0;
    for (let scanned = 0; scanned < size + count; scanned++) {
      const slot = (this.#rover + scanned) % size;
      if (slot === 0 && run > 0) {
        run = 0;
        runStart = 0;
      }
      if (used[slot] === 0) {
        if (run === 0) runStart = slot;
        if (++run === count) return runStart;
      } else {
        run = 0;
      }
    }
    return undefined;
  }
}
