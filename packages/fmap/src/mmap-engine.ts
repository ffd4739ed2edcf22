import { forEachUnit } from '@blk/core';
import type { Engine } from './engine.js';
import type { FileIo } from './file-io.js';
import { FmapError, ioError } from './fmap-error.js';
import type { FmapNative, NativeMapping } from './native-binding.js';

/** Node 20 refuses buffers over 4 GiB, so the mapping is seen through windows of 1 GiB. */
const WINDOW_BYTES = 1 << 30;
const ZERO_CHUNK = new Uint8Array(1 << 20);
const MIN_GROWTH = 1 << 20;

/**
 * A real shared memory map of the file through @blk/fmap-native. The mapping reserves more address
 * space than the file needs, so growing the file does not move it; the file is grown with real
 * zero writes, so a full disk is an E_IO error and never a SIGBUS on first touch. Windows are
 * external ArrayBuffers the addon detaches before it unmaps, so no stale view can fault.
 */
export class MmapEngine implements Engine {
  readonly kind = 'mmap';
  readonly #native: FmapNative;
  readonly #fd: number;
  readonly #io: FileIo;
  readonly #blockSize: number;
  #mapping: NativeMapping | undefined;
  #reserve: number;
  #windows: (Uint8Array | undefined)[] = [];
  #capacity: number;
  #dirtyLow = Number.POSITIVE_INFINITY;
  #dirtyHigh = 0;

  constructor(native: FmapNative, fd: number, io: FileIo, blockSize: number, reserve: number) {
    this.#native = native;
    this.#fd = fd;
    this.#io = io;
    this.#blockSize = blockSize;
    this.#capacity = this.#call(() => io.size(fd), 'fstat');
    this.#reserve = this.#roundReserve(Math.max(reserve, 2 * this.#capacity));
    this.#mapping = this.#call(() => native.map(fd, this.#reserve), `mmap of ${this.#reserve} bytes`);
  }

  #roundReserve(bytes: number): number {
    return Math.ceil(bytes / this.#blockSize) * this.#blockSize;
  }

  #call<T>(fn: () => T, what: string): T {
    try {
      return fn();
    } catch (error) {
      throw ioError(error, what);
    }
  }

  #window(index: number): Uint8Array {
    const existing = this.#windows[index];
    if (existing) return existing;
    const mapping = this.#mapping;
    if (!mapping) throw new FmapError('E_CLOSED', 'mapping is closed');
    const start = index * WINDOW_BYTES;
    const length = Math.min(WINDOW_BYTES, this.#reserve - start);
    const view = new Uint8Array(this.#call(() => this.#native.view(mapping, start, length), 'mapping view'));
    this.#windows[index] = view;
    return view;
  }

  #each(position: number, length: number, fn: (window: Uint8Array, at: number, done: number, n: number) => void): void {
    forEachUnit(position, length, WINDOW_BYTES, (index, within, n, done) => {
      fn(this.#window(index), within, done, n);
    });
  }

  /** The window holding all of [position, position+length), or undefined when it spans two. */
  #within(position: number, length: number): Uint8Array | undefined {
    const index = Math.floor(position / WINDOW_BYTES);
    return Math.floor((position + length - 1) / WINDOW_BYTES) === index ? this.#window(index) : undefined;
  }

  #dirty(position: number, length: number): void {
    if (position < this.#dirtyLow) this.#dirtyLow = position;
    if (position + length > this.#dirtyHigh) this.#dirtyHigh = position + length;
  }

  capacity(): number {
    return this.#capacity;
  }

  ensureCapacity(bytes: number, mayMove: boolean): void {
    if (bytes <= this.#capacity) return;
    if (bytes > this.#reserve) {
      if (!mayMove) {
        throw new FmapError('E_OUTSTANDING', `growing to ${bytes} bytes would move the mapping while leases are live`);
      }
      this.#remap(this.#roundReserve(2 * bytes));
    }
    const grown = Math.ceil(Math.max(bytes, this.#capacity + Math.max(MIN_GROWTH, this.#capacity / 8)) / this.#blockSize) * this.#blockSize;
    const target = Math.min(grown, this.#reserve);
    let at = this.#capacity;
    while (at < target) {
      const n = Math.min(ZERO_CHUNK.length, target - at);
      const position = at;
      this.#call(() => this.#io.write(this.#fd, ZERO_CHUNK.subarray(0, n), position), `growing the file at ${position}`);
      at += n;
      // A failure part way leaves what was really written usable.
      this.#capacity = at;
    }
  }

  #remap(reserve: number): void {
    this.#flushDirtyRange(false);
    if (this.#mapping) this.#native.unmap(this.#mapping);
    this.#mapping = undefined;
    this.#windows = [];
    this.#mapping = this.#call(() => this.#native.map(this.#fd, reserve), `mmap of ${reserve} bytes`);
    this.#reserve = reserve;
  }

  read(position: number, dst: Uint8Array): void {
    const window = this.#within(position, dst.length);
    if (window) {
      const at = position % WINDOW_BYTES;
      dst.set(window.subarray(at, at + dst.length));
      return;
    }
    this.#each(position, dst.length, (window, at, done, n) => dst.set(window.subarray(at, at + n), done));
  }

  write(position: number, src: Uint8Array): void {
    this.#dirty(position, src.length);
    const window = this.#within(position, src.length);
    if (window) {
      window.set(src, position % WINDOW_BYTES);
      return;
    }
    this.#each(position, src.length, (window, at, done, n) => window.set(src.subarray(done, done + n), at));
  }

  equals(position: number, src: Uint8Array): boolean {
    const window = this.#within(position, src.length);
    if (window) return Buffer.from(window.buffer, window.byteOffset + (position % WINDOW_BYTES), src.length).equals(src);
    let same = true;
    this.#each(position, src.length, (window, at, done, n) => {
      if (same) same = Buffer.from(window.buffer, window.byteOffset + at, n).equals(src.subarray(done, done + n));
    });
    return same;
  }

  zero(position: number, length: number): void {
    this.#dirty(position, length);
    const window = this.#within(position, length);
    if (window) {
      const at = position % WINDOW_BYTES;
      window.fill(0, at, at + length);
      return;
    }
    this.#each(position, length, (window, at, _done, n) => window.fill(0, at, at + n));
  }

  #flushDirtyRange(blocking: boolean): void {
    const mapping = this.#mapping;
    if (!mapping || this.#dirtyHigh <= this.#dirtyLow) return;
    const low = this.#dirtyLow;
    const length = Math.min(this.#dirtyHigh, this.#capacity) - low;
    if (length > 0) this.#call(() => this.#native.sync(mapping, low, length, blocking), 'msync');
    if (blocking) {
      this.#dirtyLow = Number.POSITIVE_INFINITY;
      this.#dirtyHigh = 0;
    }
  }

  sync(): void {
    this.#flushDirtyRange(false);
  }

  flush(): void {
    this.#flushDirtyRange(true);
    this.#call(() => this.#io.datasync(this.#fd), 'fdatasync');
  }

  writeDurable(position: number, src: Uint8Array): void {
    this.#call(() => this.#io.write(this.#fd, src, position), `write of ${src.length} bytes at ${position}`);
    this.#call(() => this.#io.datasync(this.#fd), 'fdatasync');
  }

  truncate(bytes: number): void {
    this.#call(() => this.#io.truncate(this.#fd, bytes), `truncate to ${bytes} bytes`);
    this.#capacity = bytes;
    if (this.#dirtyHigh > bytes) this.#dirtyHigh = bytes;
  }

  close(): void {
    const mapping = this.#mapping;
    this.#mapping = undefined;
    this.#windows = [];
    if (mapping) this.#native.unmap(mapping);
  }
}
