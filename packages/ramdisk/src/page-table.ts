/** Pages per directory: a directory is a plain array of this many slots. */
const DIR_SLOTS = 1024;
const SLOT_MASK = DIR_SLOTS - 1;

interface Directory {
  readonly slots: (Uint8Array | undefined)[];
  count: number;
}

/**
 * A sparse array of fixed-size zero-initialised pages, indexed by page number. Two levels: a map of
 * directories of 1024 slots, plus the sorted list of non-empty directory keys, so the next
 * allocated or free page is found by skipping whole directories rather than scanning pages.
 * Unallocated pages cost nothing.
 */
export class PageTable {
  readonly #directories = new Map<number, Directory>();
  /** Keys of non-empty directories, ascending. */
  readonly #keys: number[] = [];
  #pages = 0;

  constructor(readonly pageSize: number) {}

  /** Pages currently allocated. */
  get pages(): number {
    return this.#pages;
  }

  get(page: number): Uint8Array | undefined {
    return this.#directories.get(Math.floor(page / DIR_SLOTS))?.slots[page & SLOT_MASK];
  }

  /** The page, allocated (zeroed) if it was not. */
  obtain(page: number): Uint8Array {
    const key = Math.floor(page / DIR_SLOTS);
    let dir = this.#directories.get(key);
    if (!dir) {
      dir = { slots: new Array<Uint8Array | undefined>(DIR_SLOTS), count: 0 };
      this.#directories.set(key, dir);
      this.#keys.splice(this.#lowerBound(key), 0, key);
    }
    const slot = page & SLOT_MASK;
    let bytes = dir.slots[slot];
    if (!bytes) {
      bytes = new Uint8Array(this.pageSize);
      dir.slots[slot] = bytes;
      dir.count++;
      this.#pages++;
    }
    return bytes;
  }

  delete(page: number): void {
    const key = Math.floor(page / DIR_SLOTS);
    const dir = this.#directories.get(key);
    const slot = page & SLOT_MASK;
    if (!dir?.slots[slot]) return;
    dir.slots[slot] = undefined;
    dir.count--;
    this.#pages--;
    if (dir.count === 0) {
      this.#directories.delete(key);
      this.#keys.splice(this.#lowerBound(key), 1);
    }
  }

  /** Frees every page numbered `from` or above. */
  truncate(from: number): void {
    const firstKey = Math.floor(from / DIR_SLOTS);
    for (const key of this.#keys.slice(this.#lowerBound(firstKey))) {
      const dir = this.#directories.get(key)!;
      const start = key === firstKey ? from & SLOT_MASK : 0;
      for (let slot = start; slot < DIR_SLOTS && dir.count > 0; slot++) {
        if (dir.slots[slot]) this.delete(key * DIR_SLOTS + slot);
      }
    }
  }

  /** The first allocated page ≥ `page`, or -1. */
  nextAllocated(page: number): number {
    const firstKey = Math.floor(page / DIR_SLOTS);
    for (let i = this.#lowerBound(firstKey); i < this.#keys.length; i++) {
      const key = this.#keys[i]!;
      const { slots } = this.#directories.get(key)!;
      for (let slot = key === firstKey ? page & SLOT_MASK : 0; slot < DIR_SLOTS; slot++) {
        if (slots[slot]) return key * DIR_SLOTS + slot;
      }
    }
    return -1;
  }

  /** The first unallocated page ≥ `page` (there always is one). */
  nextFree(page: number): number {
    for (;;) {
      const key = Math.floor(page / DIR_SLOTS);
      const dir = this.#directories.get(key);
      if (!dir) return page;
      if (dir.count < DIR_SLOTS) {
        for (let slot = page & SLOT_MASK; slot < DIR_SLOTS; slot++) {
          if (!dir.slots[slot]) return key * DIR_SLOTS + slot;
        }
      }
      page = (key + 1) * DIR_SLOTS;
    }
  }

  #lowerBound(key: number): number {
    let lo = 0;
    let hi = this.#keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#keys[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
