interface Entry {
  readonly index: number;
  block: Uint8Array;
  /** Toward the least recently used end. */
  older: Entry | undefined;
  newer: Entry | undefined;
}

/**
 * Blocks of the image by index, least recently used dropped first once they add up to more than
 * `capacityBytes` (0: nothing is kept). Recency is a linked list beside the Map: evicting by
 * iterating a Map from its start re-skips every slot deleted since its last rehash, which made
 * each eviction cost in proportion to the cache's size.
 */
export class BlockCache {
  readonly capacityBytes: number;
  readonly #evicted: (block: Uint8Array) => void;
  readonly #entries = new Map<number, Entry>();
  #oldest: Entry | undefined;
  #newest: Entry | undefined;
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
    return this.#entries.size;
  }

  /** The block, now the most recently used; undefined when it is not cached. */
  get(index: number): Uint8Array | undefined {
    const entry = this.#entries.get(index);
    if (entry === undefined) return undefined;
    if (entry !== this.#newest) {
      this.#unlink(entry);
      this.#link(entry);
    }
    return entry.block;
  }

  has(index: number): boolean {
    return this.#entries.has(index);
  }

  /** Keeps `block` (the cache owns it from now on) and drops the oldest blocks past the capacity. */
  set(index: number, block: Uint8Array): void {
    if (block.byteLength > this.capacityBytes) return;
    const old = this.#entries.get(index);
    if (old !== undefined) {
      this.#bytes -= old.block.byteLength;
      this.#unlink(old);
      this.#entries.delete(index);
    }
    const entry: Entry = { index, block, older: undefined, newer: undefined };
    this.#entries.set(index, entry);
    this.#link(entry);
    this.#bytes += block.byteLength;
    while (this.#bytes > this.capacityBytes) {
      const oldest = this.#oldest!;
      this.#unlink(oldest);
      this.#entries.delete(oldest.index);
      this.#bytes -= oldest.block.byteLength;
      this.#evicted(oldest.block);
    }
  }

  clear(): void {
    this.#entries.clear();
    this.#oldest = undefined;
    this.#newest = undefined;
    this.#bytes = 0;
  }

  /** Makes `entry` the newest. */
  #link(entry: Entry): void {
    entry.older = this.#newest;
    entry.newer = undefined;
    if (this.#newest === undefined) this.#oldest = entry;
    else this.#newest.newer = entry;
    this.#newest = entry;
  }

  #unlink(entry: Entry): void {
    if (entry.older === undefined) this.#oldest = entry.newer;
    else entry.older.newer = entry.newer;
    if (entry.newer === undefined) this.#newest = entry.older;
    else entry.newer.older = entry.older;
    entry.older = undefined;
    entry.newer = undefined;
  }
}
