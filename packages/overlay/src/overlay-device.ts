import {
  BlockError,
  checkRange,
  checkRequest,
  checkSeek,
  RegionLock,
  settled,
  type BlockInfo,
  type CombinatorOptions,
  type Supports,
} from '@blk/core';
import { BASE, DATA, ZERO, type BlockMap } from './block-map.js';
import { fillZero, sliceBuffers } from './buffers.js';
import type { Child } from './child.js';
import { InFlight } from './in-flight.js';
import type { Layout } from './layout.js';
import { commitBlocks } from './overlay-commit.js';
import { passThrough } from './pass-through.js';
import { blockEnd, nextMapped, nextUnmapped } from './overlay-seek.js';
import { overlaySupports } from './overlay-supports.js';

const noRelease = (): void => undefined;

export interface OverlayParts {
  readonly base: Child;
  readonly top: Child;
  readonly layout: Layout;
  readonly map: BlockMap;
  readonly disconnectChildren: boolean;
}

/**
 * The overlay's behaviour. Block states (BASE, DATA, ZERO) decide where each block is read from.
 * Every change (write, writeZeroes, discard, a commit step) holds the region lock on the whole
 * blocks it touches, so a copy-up (base bytes merged around a partial write) never races another
 * change of the same block. Reads take no lock: they look at the states when they start and read
 * from wherever those say, and a block's state changes only once its new content is complete.
 *
 * Crash order: the map is written to the top only by `flush`, which first flushes the top (and the
 * base, after a commit wrote it), then writes the map pieces as they were when the flush began, then
 * flushes the top again. A state on the top therefore never points at data that was not durable.
 */
export class OverlayDevice {
  readonly supports: Supports;
  readonly #info: BlockInfo;
  readonly #base: Child;
  readonly #top: Child;
  readonly #layout: Layout;
  readonly #map: BlockMap;
  readonly #disconnectChildren: boolean;
  readonly #lock = new RegionLock();
  readonly #inFlight = new InFlight();
  #flushing: Promise<void> = Promise.resolve();
  #baseDirty = false;
  #closed = false;
  #disconnecting: Promise<void> | undefined;

  constructor(parts: OverlayParts) {
    this.#base = parts.base;
    this.#top = parts.top;
    this.#layout = parts.layout;
    this.#map = parts.map;
    this.#disconnectChildren = parts.disconnectChildren;
    this.supports = overlaySupports(parts.base, parts.top);
    this.#info = Object.freeze({
      readWrite: this.supports.write,
      sectorSize: parts.layout.sectorSize,
      sizeSectors: parts.layout.sizeBytes / parts.layout.sectorSize,
    });
  }

  get blockSize(): number {
    return this.#layout.blockSize;
  }

  /** Blocks the top holds data for, and blocks it shadows with zeroes. */
  get changes(): { readonly dataBlocks: number; readonly zeroBlocks: number } {
    return { dataBlocks: this.#map.count(DATA), zeroBlocks: this.#map.count(ZERO) };
  }

  getInfo(): Promise<BlockInfo> {
    return settled(() => {
      this.#open();
      return { ...this.#info };
    });
  }

  read(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    return settled(() => {
      this.#open();
      const count = checkRequest(this.#info, sector, buffers);
      if (count === 0) return Promise.resolve();
      const ss = this.#info.sectorSize;
      const start = sector * ss;
      const { blockSize, dataOffset } = this.#layout;
      const first = Math.floor(start / blockSize);
      const last = Math.ceil((start + count * ss) / blockSize);
      const state = this.#map.states[first];
      if (state !== ZERO && this.#map.runEnd(first, last) === last) {
        // The common cases in one promise turn: every block is the top's, or every block the base's.
        return state === DATA
          ? passThrough(this.#inFlight, this.#top, 'read', dataOffset + start, buffers, noRelease)
          : passThrough(this.#inFlight, this.#base, 'read', start, buffers, noRelease);
      }
      return this.#inFlight.run(() => this.#read(start, count * ss, buffers));
    });
  }

  write(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    return settled(() => {
      this.#open();
      const count = checkRequest(this.#info, sector, buffers);
      this.#writable();
      if (count === 0) return Promise.resolve();
      const ss = this.#info.sectorSize;
      const start = sector * ss;
      const end = start + count * ss;
      const { blockSize, dataOffset } = this.#layout;
      const first = Math.floor(start / blockSize);
      const last = Math.ceil(end / blockSize);
      if (this.#map.states[first] === DATA && this.#map.runEnd(first, last) === last && this.#lock.isFree(first, last, true)) {
        // The common case in one promise turn: every block is the top's, nothing to copy or record.
        // Such writes only share the lock: the top orders them among themselves, and what must
        // not run beside them (a copy-up, a zeroing, a commit step) claims its blocks exclusively.
        const release = this.#lock.acquire(first, last, true) as () => void;
        return passThrough(this.#inFlight, this.#top, 'write', dataOffset + start, buffers, release);
      }
      const held = this.#lock.acquire(first, last);
      const go = (release: () => void) => settled(() => this.#write(start, end, buffers)).finally(release);
      // Counted in flight while it waits for the lock too, so that disconnect waits for it.
      return this.#inFlight.run(() => (typeof held === 'function' ? go(held) : held.then(go)));
    });
  }

  writeZeroes(sector: number, count: number): Promise<void> {
    return this.#zeroing(sector, count);
  }

  discard(sector: number, count: number): Promise<void> {
    return this.#zeroing(sector, count);
  }

  flush(): Promise<void> {
    return settled(() => this.#open()).then(() => this.#inFlight.run(() => this.#flush()));
  }

  seekMapped(sector: number): Promise<number> {
    return this.#seek(sector, (from) => nextMapped(this.#map, this.#layout, this.#base, from));
  }

  seekUnmapped(sector: number): Promise<number> {
    return this.#seek(sector, (from) => nextUnmapped(this.#map, this.#layout, this.#base, from));
  }

  /**
   * Writes every changed block down into the base (data copied, zeroed blocks zeroed), flushes
   * the base, then marks those blocks as the base's again and flushes the map. Requests may go on
   * meanwhile; a block changed after it was copied stays the top's.
   */
  commit(options: CombinatorOptions = {}): Promise<void> {
    return settled(() => {
      this.#open();
      this.#writable();
      if (!this.#base.writable) throw BlockError.readOnly('overlay base');
    }).then(() => this.#inFlight.run(() => this.#commit(options)));
  }

  disconnect(): Promise<void> {
    this.#disconnecting ??= this.#shutdown();
    return this.#disconnecting;
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    await this.#inFlight.drained();
    // A clean close leaves the map on the top as it is in memory; a failure here loses only what
    // an explicit flush would have reported.
    if (this.#info.readWrite) await this.#flush().catch(() => undefined);
    if (this.#disconnectChildren) {
      await Promise.allSettled([this.#base.device.disconnect(), this.#top.device.disconnect()]);
    }
  }

  #read(start: number, bytes: number, buffers: readonly Uint8Array[]): Promise<void> {
    const { blockSize } = this.#layout;
    const first = Math.floor(start / blockSize);
    const last = Math.ceil((start + bytes) / blockSize);
    const map = this.#map;
    if (map.runEnd(first, last) === last) return this.#readRun(map.states[first]!, start, buffers);
    const reads: Promise<void>[] = [];
    for (let block = first; block < last;) {
      const end = map.runEnd(block, last);
      const from = Math.max(start, block * blockSize);
      const to = Math.min(start + bytes, end * blockSize);
      reads.push(this.#readRun(map.states[block]!, from, sliceBuffers(buffers, from - start, to - start)));
      block = end;
    }
    return Promise.all(reads).then(() => undefined);
  }

  #readRun(state: number, offset: number, buffers: readonly Uint8Array[]): Promise<void> {
    if (state === DATA) return this.#top.read(this.#layout.dataOffset + offset, buffers);
    if (state === BASE) return this.#base.read(offset, buffers);
    fillZero(buffers);
    return Promise.resolve();
  }

  /** Validates, holds the lock on the whole blocks of [start, end) and runs `work`. */
  #change(check: () => number, sector: number, work: (start: number, end: number) => Promise<void>): Promise<void> {
    return settled(() => {
      this.#open();
      const count = check();
      this.#writable();
      return count;
    }).then((count) => {
      if (count === 0) return;
      const ss = this.#info.sectorSize;
      const start = sector * ss;
      const end = start + count * ss;
      return this.#inFlight.run(() => this.#locked(start, end, () => work(start, end)));
    });
  }

  /** Runs `work` holding the lock on the whole blocks of bytes [start, end). */
  #locked<T>(start: number, end: number, work: () => Promise<T>): Promise<T> {
    const { blockSize } = this.#layout;
    const held = this.#lock.acquire(Math.floor(start / blockSize), Math.ceil(end / blockSize));
    const run = (release: () => void) =>
      settled(work).then(
        (value) => {
          release();
          return value;
        },
        (error: unknown) => {
          release();
          throw error;
        },
      );
    return typeof held === 'function' ? run(held) : held.then(run);
  }

  /**
   * One write to the top covering [start, end), widened to whole blocks where a partial block is
   * not yet the top's: the rest of such a block is copied up from the base (or is zeroes).
   */
  #write(start: number, end: number, buffers: readonly Uint8Array[]): Promise<void> {
    const { blockSize, dataOffset } = this.#layout;
    const first = Math.floor(start / blockSize);
    const last = Math.ceil(end / blockSize);
    const map = this.#map;
    // Blocks the top holds already: the data goes straight to them, nothing to copy or record.
    if (map.states[first] === DATA && map.runEnd(first, last) === last) return this.#top.write(dataOffset + start, buffers);
    return this.#copyUpWrite(start, end, buffers);
  }

  async #copyUpWrite(start: number, end: number, buffers: readonly Uint8Array[]): Promise<void> {
    const { blockSize, dataOffset } = this.#layout;
    const states = this.#map.states;
    const first = Math.floor(start / blockSize);
    const last = Math.ceil(end / blockSize);
    const copyHead = start % blockSize !== 0 && states[first] !== DATA;
    const from = copyHead ? first * blockSize : start;
    const tailEnd = blockEnd(this.#layout, last - 1);
    const copyTail = end < tailEnd && states[last - 1] !== DATA;
    const [head, tail] = await Promise.all([
      copyHead ? this.#copyUp(states[first]!, from, start) : undefined,
      copyTail ? this.#copyUp(states[last - 1]!, end, tailEnd) : undefined,
    ]);
    const gathered = head || tail ? [...(head ? [head] : []), ...buffers, ...(tail ? [tail] : [])] : buffers;
    await this.#top.write(dataOffset + from, gathered);
    this.#map.set(first, last, DATA);
  }

  /** The current content of [from, to) within one block that is not DATA. */
  async #copyUp(state: number, from: number, to: number): Promise<Uint8Array> {
    const bytes = new Uint8Array(to - from);
    if (state === BASE) await this.#base.read(from, [bytes]);
    return bytes;
  }

  #zeroing(sector: number, count: number): Promise<void> {
    return this.#change(
      () => {
        checkRange(this.#info, sector, count);
        return count;
      },
      sector,
      (start, end) => this.#zero(start, end),
    );
  }

  async #zero(start: number, end: number): Promise<void> {
    const { blockSize, dataOffset } = this.#layout;
    const map = this.#map;
    const first = Math.floor(start / blockSize);
    const last = Math.ceil(end / blockSize);
    const wholeFrom = start % blockSize === 0 ? first : first + 1;
    const wholeTo = end === blockEnd(this.#layout, last - 1) ? last : last - 1;
    const partial: number[] = [];
    if (wholeFrom > first) partial.push(first);
    if (wholeTo < last && last - 1 !== first) partial.push(last - 1);
    else if (wholeTo < last && wholeFrom === first) partial.push(first);
    const work: Promise<void>[] = partial.map((block) =>
      this.#zeroPart(block, Math.max(start, block * blockSize), Math.min(end, blockEnd(this.#layout, block))),
    );
    if (wholeFrom < wholeTo && this.#top.zeroesCheaply) {
      // Free the top's copies of whole blocks it holds; the map alone would do for reads.
      for (let block = wholeFrom; block < wholeTo;) {
        const runEnd = map.runEnd(block, wholeTo);
        if (map.states[block] === DATA)
          work.push(this.#top.zero(dataOffset + block * blockSize, blockEnd(this.#layout, runEnd - 1) - block * blockSize));
        block = runEnd;
      }
    }
    await Promise.all(work);
    if (wholeFrom < wholeTo) map.set(wholeFrom, wholeTo, ZERO);
  }

  /** Zeroes [from, to), part of one block. */
  async #zeroPart(block: number, from: number, to: number): Promise<void> {
    const { blockSize, dataOffset } = this.#layout;
    const state = this.#map.states[block];
    if (state === ZERO) return;
    if (state === DATA) return this.#top.zero(dataOffset + from, to - from);
    const blockStart = block * blockSize;
    const stop = blockEnd(this.#layout, block);
    if (this.#base.seekable && (await this.#base.mappedFrom(blockStart, stop)) >= stop) {
      this.#map.set(block, block + 1, ZERO);
      return;
    }
    const bytes = await this.#copyUp(BASE, blockStart, stop);
    bytes.fill(0, from - blockStart, to - blockStart);
    await this.#top.write(dataOffset + blockStart, [bytes]);
    this.#map.set(block, block + 1, DATA);
  }

  /** Flushes run one after another, so each covers every change acknowledged before it began. */
  #flush(): Promise<void> {
    const run = this.#flushing.then(() => this.#flushNow());
    this.#flushing = run.catch(() => undefined);
    return run;
  }

  async #flushNow(): Promise<void> {
    const pieces = this.#map.takeDirty();
    const baseDirty = this.#baseDirty;
    this.#baseDirty = false;
    try {
      await Promise.all([this.#top.flush(), baseDirty ? this.#base.flush() : undefined]);
      if (pieces.length === 0) return;
      const { mapOffset, headerBytes } = this.#layout;
      await Promise.all(pieces.map((piece) => this.#top.write(mapOffset + piece.index * headerBytes, [piece.bytes])));
      await this.#top.flush();
    } catch (error) {
      this.#map.markDirty(pieces.map((piece) => piece.index));
      if (baseDirty) this.#baseDirty = true;
      throw error;
    }
  }

  #seek(sector: number, next: (from: number) => Promise<number>): Promise<number> {
    return settled(() => {
      this.#open();
      checkSeek(this.#info, sector);
    }).then(() =>
      this.#inFlight.run(async () => {
        const ss = this.#info.sectorSize;
        const found = await next(sector * ss);
        return Math.min(this.#info.sizeSectors, Math.floor(found / ss));
      }),
    );
  }

  async #commit(options: CombinatorOptions): Promise<void> {
    await commitBlocks(
      {
        map: this.#map,
        layout: this.#layout,
        top: this.#top,
        base: this.#base,
        locked: (start, end, work) => this.#locked(start, end, work),
      },
      () => {
        this.#baseDirty = true;
      },
      options,
    );
    await this.#flush();
  }

  #open(): void {
    if (this.#closed) throw BlockError.disconnected('overlay');
  }

  #writable(): void {
    if (!this.#info.readWrite) throw BlockError.readOnly('overlay');
  }
}
