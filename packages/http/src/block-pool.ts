/** New blocks are cut from slabs of this many bytes (or one block, if larger). */
export const SLAB_BYTES = 1024 * 1024;

/**
 * Blocks of `blockSize`: those the cache dropped are handed out again for the next fetches, and
 * new ones are cut from 1 MiB slabs, so a sequential reader allocates little while the cache
 * fills and nothing once it is full (every fresh allocation costs page faults and garbage
 * collection). A slab lives while any of its blocks does: the cache and this pool keep blocks
 * circulating, so only a partly handed-out slab is extra. Keeps at most `maxBlocks` free blocks.
 */
export class BlockPool {
  readonly #blockSize: number;
  readonly #maxBlocks: number;
  readonly #free: Uint8Array[] = [];
  #slab: Uint8Array | undefined;
  #slabAt = 0;

  constructor(blockSize: number, maxBlocks: number) {
    this.#blockSize = blockSize;
    this.#maxBlocks = maxBlocks;
  }

  /** A block of `blockSize` bytes, reused or new; its contents are to be overwritten. */
  take(): Uint8Array {
    const free = this.#free.pop();
    if (free !== undefined) return free;
    if (this.#slab === undefined || this.#slabAt + this.#blockSize > this.#slab.byteLength) {
      this.#slab = new Uint8Array(Math.max(this.#blockSize, SLAB_BYTES));
      this.#slabAt = 0;
    }
    const block = this.#slab.subarray(this.#slabAt, this.#slabAt + this.#blockSize);
    this.#slabAt += this.#blockSize;
    return block;
  }

  /** Takes back a block nobody refers to any more. */
  put(block: Uint8Array): void {
    if (block.byteLength === this.#blockSize && this.#free.length < this.#maxBlocks) this.#free.push(block);
  }

  /** Forgets every free block and the slab being cut (the cache was emptied). */
  clear(): void {
    this.#free.length = 0;
    this.#slab = undefined;
  }
}
