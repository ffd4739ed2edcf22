/**
 * Blocks of the image by index, least recently used dropped first once they add up to more than
 * `capacityBytes` (0: nothing is kept). A Map's insertion order is the recency order.
 */
export class BlockCache {
  readonly capacityBytes: number;
  readonly #evicted: (block: Uint8Array) => void;
  readonly #blocks = new Map<number, Uint8Array>();
  #bytes = 0;

  /** `evicted` gets each block dropped to make room (nobody else holds it: it may be reused). */
  constructor(capacityBytes: number, evicted: (block: Uint8Array) => void = () => undefined) {
    this.capacityBytes = capacityBytes;
    this.#evicted = evicted;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#blocks.size;
  }

  /** The block, now the most recently used; undefined when it is not cached. */
  get(index: number): Uint8Array | undefined {
    const block = this.#blocks.get(index);
    if (block === undefined) return undefined;
    this.#blocks.delete(index);
    this.#blocks.set(index, block);
    return block;
  }

  has(index: number): boolean {
    return this.#blocks.has(index);
  }

  /** Keeps `block` (the cache owns it from now on) and drops the oldest blocks past the capacity. */
  set(index: number, block: Uint8Array): void {
    if (block.byteLength > this.capacityBytes) return;
    const old = this.#blocks.get(index);
    if (old !== undefined) {
      this.#bytes -= old.byteLength;
      this.#blocks.delete(index);
    }
    this.#blocks.set(index, block);
    this.#bytes += block.byteLength;
    if (this.#bytes <= this.capacityBytes) return;
    for (const [oldest, bytes] of this.#blocks) {
      if (this.#bytes <= this.capacityBytes) break;
      this.#blocks.delete(oldest);
      this.#bytes -= bytes.byteLength;
      this.#evicted(bytes);
    }
  }

  clear(): void {
    this.#blocks.clear();
    this.#bytes = 0;
  }
}
