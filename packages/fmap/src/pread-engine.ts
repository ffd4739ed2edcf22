import { forEachUnit } from '@blk/core';
import type { Engine } from './engine.js';
import type { FileIo } from './file-io.js';
import { ioError } from './fmap-error.js';

interface CachedBlock {
  /** Block index, or -1 for a slot that holds nothing. */
  index: number;
  readonly bytes: Uint8Array;
  dirty: boolean;
  /** Set on each use; the clock hand clears it and evicts slots found clear. */
  referenced: boolean;
}

/** Largest single write when dirty neighbours are coalesced. */
const RUN_BYTES = 1 << 20;

/**
 * Positioned reads and writes with a write-back block cache (CLOCK eviction: a hit only sets a
 * flag, so hot blocks cost one Map lookup; slots and their buffers are reused, never freed).
 * Growth is only recorded: the file is extended (ftruncate) when dirty data is handed over, so
 * a full disk shows up as an E_IO error from sync/flush, never as a signal.
 */
export class PreadEngine implements Engine {
  readonly kind = 'pread';
  readonly #fd: number;
  readonly #io: FileIo;
  readonly #blockSize: number;
  readonly #maxBlocks: number;
  readonly #where = new Map<number, CachedBlock>();
  #slots: CachedBlock[] = [];
  #hand = 0;
  /** Indices of dirty cached blocks, so sync does not walk the whole cache. */
  readonly #dirty = new Set<number>();
  #capacity: number;
  #fileSize: number;

  constructor(fd: number, io: FileIo, blockSize: number, cacheBytes: number) {
    this.#fd = fd;
    this.#io = io;
    this.#blockSize = blockSize;
    this.#maxBlocks = Math.max(16, Math.floor(cacheBytes / blockSize));
    this.#fileSize = this.#call(() => io.size(fd), 'fstat');
    this.#capacity = this.#fileSize;
  }

  #call<T>(fn: () => T, what: string): T {
    try {
      return fn();
    } catch (error) {
      throw ioError(error, what);
    }
  }

  capacity(): number {
    return this.#capacity;
  }

  ensureCapacity(bytes: number): void {
    if (bytes > this.#capacity) this.#capacity = bytes;
  }

  /** The cached block `index`, read from the file on a miss unless `whole` says it will be overwritten. */
  #block(index: number, whole: boolean): CachedBlock {
    const hit = this.#where.get(index);
    if (hit) {
      hit.referenced = true;
      return hit;
    }
    let slot: CachedBlock;
    if (this.#slots.length < this.#maxBlocks) {
      slot = { index: -1, bytes: new Uint8Array(this.#blockSize), dirty: false, referenced: false };
      this.#slots.push(slot);
    } else {
      slot = this.#victim();
      if (slot.dirty) this.#writeBack([slot.index]);
      if (slot.index >= 0) this.#where.delete(slot.index);
      slot.index = -1;
    }
    const position = index * this.#blockSize;
    if (!whole) {
      let got = 0;
      if (position < this.#fileSize) got = this.#call(() => this.#io.read(this.#fd, slot.bytes, position), `read of block ${position}`);
      slot.bytes.fill(0, got);
    }
    slot.index = index;
    slot.referenced = true;
    this.#where.set(index, slot);
    return slot;
  }

  /** The next slot the clock hand finds unreferenced (clearing the flags it passes). */
  #victim(): CachedBlock {
    const slots = this.#slots;
    for (let step = 0; step <= 2 * slots.length; step++) {
      const slot = slots[this.#hand]!;
      this.#hand = (this.#hand + 1) % slots.length;
      if (!slot.referenced) return slot;
      slot.referenced = false;
    }
    return slots[this.#hand]!;
  }

  /** Calls `fn` for each block piece of `[position, position + length)`. */
  #pieces(position: number, length: number, fn: (index: number, within: number, done: number, n: number) => void): void {
    forEachUnit(position, length, this.#blockSize, (index, within, n, done) => {
      fn(index, within, done, n);
    });
  }

  read(position: number, dst: Uint8Array): void {
    this.#pieces(position, dst.length, (index, within, done, n) => {
      const { bytes } = this.#block(index, false);
      dst.set(n === bytes.length ? bytes : bytes.subarray(within, within + n), done);
    });
  }

  write(position: number, src: Uint8Array): void {
    this.#pieces(position, src.length, (index, within, done, n) => {
      // a block written only in part must be read first
      const entry = this.#block(index, n === this.#blockSize);
      entry.bytes.set(src.subarray(done, done + n), within);
      entry.dirty = true;
      this.#dirty.add(index);
    });
  }

  equals(position: number, src: Uint8Array): boolean {
    const first = position / this.#blockSize;
    for (let i = 0; i * this.#blockSize < src.length; i++) {
      const { bytes } = this.#block(first + i, false);
      const chunk = src.subarray(i * this.#blockSize, (i + 1) * this.#blockSize);
      if (!Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).equals(chunk)) return false;
    }
    return true;
  }

  zero(position: number, length: number): void {
    const first = position / this.#blockSize;
    for (let i = 0; i * this.#blockSize < length; i++) {
      const entry = this.#block(first + i, true);
      entry.bytes.fill(0);
      entry.dirty = true;
      this.#dirty.add(first + i);
    }
  }

  /** Writes the given dirty blocks, neighbours coalesced into one write, and marks them clean. */
  #writeBack(indices: number[]): void {
    indices.sort((a, b) => a - b);
    this.#extendFile();
    let i = 0;
    while (i < indices.length) {
      let j = i + 1;
      while (j < indices.length && indices[j] === indices[j - 1]! + 1 && (j - i) * this.#blockSize < RUN_BYTES) j++;
      const run = indices.slice(i, j).map((index) => this.#where.get(index)!);
      const bytes = run.length === 1 ? run[0]!.bytes : Buffer.concat(run.map((entry) => entry.bytes));
      const position = indices[i]! * this.#blockSize;
      this.#call(() => this.#io.write(this.#fd, bytes, position), `write of ${bytes.length} bytes at ${position}`);
      for (let k = i; k < j; k++) this.#dirty.delete(indices[k]!);
      for (const entry of run) entry.dirty = false;
      if (position + bytes.length > this.#fileSize) this.#fileSize = position + bytes.length;
      i = j;
    }
  }

  #extendFile(): void {
    if (this.#fileSize < this.#capacity) {
      this.#call(() => this.#io.truncate(this.#fd, this.#capacity), `extend to ${this.#capacity} bytes`);
      this.#fileSize = this.#capacity;
    }
  }

  sync(): void {
    if (this.#dirty.size > 0) this.#writeBack([...this.#dirty]);
    this.#extendFile();
  }

  flush(): void {
    this.sync();
    this.#call(() => this.#io.datasync(this.#fd), 'fdatasync');
  }

  writeDurable(position: number, src: Uint8Array): void {
    this.#call(() => this.#io.write(this.#fd, src, position), `write of ${src.length} bytes at ${position}`);
    this.#call(() => this.#io.datasync(this.#fd), 'fdatasync');
  }

  truncate(bytes: number): void {
    this.#call(() => this.#io.truncate(this.#fd, bytes), `truncate to ${bytes} bytes`);
    for (const slot of this.#slots) {
      if (slot.index >= 0 && slot.index * this.#blockSize >= bytes) {
        this.#where.delete(slot.index);
        this.#dirty.delete(slot.index);
        slot.index = -1;
        slot.dirty = false;
        slot.referenced = false;
      }
    }
    this.#fileSize = bytes;
    this.#capacity = bytes;
  }

  close(): void {
    this.#where.clear();
    this.#slots = [];
    this.#dirty.clear();
  }
}
