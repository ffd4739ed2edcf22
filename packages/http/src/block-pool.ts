/**
 * Blocks of `blockSize` the cache dropped, handed out again for the next fetches: a sequential
 * reader past the cache's capacity then allocates nothing (fresh memory costs a page fault per
 * page and garbage collection). Keeps at most `maxBlocks`.
 */
export class BlockPool {
  readonly #blockSize: number;
  readonly #maxBlocks: number;
  readonly #free: Uint8Array[] = [];

  constructor(blockSize: number, maxBlocks: number) {
    this.#blockSize = blockSize;
    this.#maxBlocks = maxBlocks;
  }

  /** A block of `blockSize` bytes, reused or new; its contents are to be overwritten. */
  take(): Uint8Array {
    return this.#free.pop() ?? new Uint8Array(this.#blockSize);
  }

  /** Takes back a block nobody refers to any more. */
  put(block: Uint8Array): void {
    if (block.byteLength === this.#blockSize && this.#free.length < this.#maxBlocks) this.#free.push(block);
  }
}
