import {
  BlockError,
  checkRange,
  checkRequest,
  checkResize,
  checkSectorSize,
  checkSeek,
  dropUnsupportedMethods,
  forEachUnit,
  settled,
  supports,
  toBlockError,
  type BlockDevice,
  type BlockInfo,
  type Supports,
} from '@blk/core';
import type { BlockFile } from './block-file.js';
import { BlockMap } from './block-map.js';
import { mapHeight } from './map-node.js';
import { mapFanout } from './map-block.js';
import { decodeSuperblock, encodeSuperblock } from './device-superblock.js';
import { FmapError } from './fmap-error.js';

/** What an fmap device holds, and whether the file agrees with its map. */
export interface FmapDeviceStats {
  readonly unitBytes: number;
  readonly mappedUnits: number;
  readonly mapBlocks: number;
  readonly dataBlocks: number;
  readonly freeBlocks: number;
  readonly fileBytes: number;
  /** Blocks the BlockFile has allocated that the map does not hold (0 unless something is wrong). */
  readonly leakedBlocks: number;
  /** Blocks the map holds twice, or that the BlockFile counts as free (0 unless something is wrong). */
  readonly conflictingBlocks: number;
}

/**
 * A thin-provisioned BlockDevice in a BlockFile: the device is cut into units of one block; a
 * radix tree of map blocks (rooted in the control data) maps each written unit to its block, and
 * unmapped units read as zeroes. `flush` writes the changed map copy-on-write and commits the
 * BlockFile. Every request runs synchronously, start to end, on the calling thread.
 */
export class FmapDevice implements BlockDevice {
  readonly supports: Supports;
  readonly path: string;
  readonly #file: BlockFile;
  readonly #map: BlockMap;
  readonly #unit: number;
  #info: BlockInfo;
  #generation: number;
  #sizeDirty = false;
  #closed = false;
  /** Set when a commit failed: changes are refused until a flush succeeds (see README). */
  #commitFailed: unknown;

  private constructor(path: string, file: BlockFile, map: BlockMap, info: BlockInfo, generation: number) {
    this.path = path;
    this.#file = file;
    this.#map = map;
    this.#unit = file.blockSize;
    this.#info = info;
    this.#generation = generation;
    this.supports = supports({
      write: info.readWrite,
      flush: true,
      // A read-only device says false for every write-type flag (see @blk/core's Supports).
      discard: info.readWrite,
      discardZeroes: info.readWrite,
      writeZeroes: info.readWrite,
      resize: info.readWrite,
      seek: true,
      sparse: true,
      persistent: true,
      concurrent: true,
    });
    dropUnsupportedMethods(this);
  }

  /** @internal reads the superblock and the whole map of an open BlockFile, closing it on failure */
  static load(path: string, file: BlockFile, readOnly: boolean): FmapDevice {
    try {
      const sb = decodeSuperblock(file.controlData(), path);
      const corrupt = (why: string) => new FmapError('E_CORRUPT', `${path}: ${why}`);
      if (!Number.isSafeInteger(sb.sizeSectors * sb.sectorSize))
        throw corrupt(`${sb.sizeSectors} sectors of ${sb.sectorSize} bytes is too large`);
      try {
        checkSectorSize(sb.sectorSize);
      } catch {
        throw corrupt(`sector size ${sb.sectorSize} is not a power of two from 512 to 65536`);
      }
      if (file.blockSize % sb.sectorSize !== 0)
        throw corrupt(`block size ${file.blockSize} is not a multiple of the ${sb.sectorSize}-byte sector`);
      const units = Math.ceil((sb.sizeSectors * sb.sectorSize) / file.blockSize);
      if (sb.height !== mapHeight(units, mapFanout(file.blockSize)))
        throw corrupt(`a map of height ${sb.height} cannot be right for ${units} units`);
      const map = BlockMap.load(file, sb, units, path);
      const info: BlockInfo = { readWrite: !readOnly, sectorSize: sb.sectorSize, sizeSectors: sb.sizeSectors };
      return new FmapDevice(path, file, map, info, sb.generation);
    } catch (error) {
      file.close({ commit: false });
      throw error;
    }
  }

  /** Runs a request start to end: DISCONNECTED after disconnect, every failure a BlockError. */
  #run<T>(what: string, work: () => T): Promise<T> {
    return settled(() => {
      if (this.#closed) throw BlockError.disconnected(this.path);
      try {
        return work();
      } catch (error) {
        throw toBlockError(error, `${this.path}: ${what}`);
      }
    });
  }

  #writable(): void {
    if (!this.#info.readWrite) throw BlockError.readOnly(this.path);
  }

  #changesAllowed(): void {
    if (this.#commitFailed !== undefined) {
      const why = this.#commitFailed instanceof Error ? `: ${this.#commitFailed.message}` : '';
      throw BlockError.io(`${this.path}: the last flush failed${why}; changes are refused until a flush succeeds`, this.#commitFailed);
    }
  }

  getInfo(): Promise<BlockInfo> {
    return this.#run('getInfo', () => this.#info);
  }

  read(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    return this.#run('read', () => {
      checkRequest(this.#info, sector, buffers);
      let position = sector * this.#info.sectorSize;
      for (const buffer of buffers) {
        forEachUnit(position, buffer.length, this.#unit, (unit, within, n, done) => {
          const block = this.#map.lookup(unit);
          if (block === 0) buffer.fill(0, done, done + n);
          else this.#file.read(block, within, buffer.subarray(done, done + n));
        });
        position += buffer.length;
      }
    });
  }

  write(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    return this.#run('write', () => {
      this.#writable();
      checkRequest(this.#info, sector, buffers);
      this.#changesAllowed();
      let position = sector * this.#info.sectorSize;
      for (const buffer of buffers) {
        forEachUnit(position, buffer.length, this.#unit, (unit, within, n, done) => {
          let block = this.#map.lookup(unit);
          if (block === 0) {
            block = this.#file.allocate();
            this.#map.set(unit, block);
          }
          this.#file.write(block, within, buffer.subarray(done, done + n));
        });
        position += buffer.length;
      }
    });
  }

  /** Frees the units the range covers whole (up to the device's end) and zeroes the rest of it in place. */
  discard(sector: number, count: number): Promise<void> {
    return this.#run('discard', () => {
      this.#writable();
      checkRange(this.#info, sector, count);
      this.#changesAllowed();
      this.#zero(sector, count);
    });
  }

  writeZeroes(sector: number, count: number): Promise<void> {
    return this.#run('writeZeroes', () => {
      this.#writable();
      checkRange(this.#info, sector, count);
      this.#changesAllowed();
      this.#zero(sector, count);
    });
  }

  #zero(sector: number, count: number): void {
    if (count === 0) return;
    const { sectorSize, sizeSectors } = this.#info;
    const size = this.#unit;
    const start = sector * sectorSize;
    const end = (sector + count) * sectorSize;
    const wholeFirst = Math.ceil(start / size);
    // The device's last unit may stick out past its end: reaching the end covers it whole.
    const wholeEnd = end === sizeSectors * sectorSize ? Math.ceil(end / size) : Math.floor(end / size);
    const zeroPart = (unit: number) => {
      const block = this.#map.lookup(unit);
      if (block === 0) return;
      const from = Math.max(start, unit * size) - unit * size;
      const to = Math.min(end, (unit + 1) * size) - unit * size;
      this.#file.write(block, from, new Uint8Array(to - from));
    };
    if (wholeFirst > wholeEnd) {
      zeroPart(wholeEnd);
      return;
    }
    if (start < wholeFirst * size) zeroPart(wholeFirst - 1);
    if (wholeEnd * size < end) zeroPart(wholeEnd);
    for (let unit = this.#map.nextMapped(wholeFirst); unit >= 0 && unit < wholeEnd; unit = this.#map.nextMapped(unit + 1)) {
      this.#file.free(this.#map.unset(unit));
    }
  }

  /** Shrinking frees the units past the new end (and zeroes the rest of a unit cut in two). */
  resize(sizeSectors: number): Promise<void> {
    return this.#run('resize', () => {
      this.#writable();
      checkResize(sizeSectors);
      const { sectorSize } = this.#info;
      const bytes = sizeSectors * sectorSize;
      if (!Number.isSafeInteger(bytes)) throw new BlockError('INVALID_ARGUMENT', `${sizeSectors} sectors is too large`);
      this.#changesAllowed();
      const units = Math.ceil(bytes / this.#unit);
      if (sizeSectors < this.#info.sizeSectors) {
        this.#map.shrink(units, (block) => {
          this.#file.free(block);
        });
        const tail = bytes % this.#unit;
        const last = tail === 0 ? 0 : this.#map.lookup(units - 1);
        if (last !== 0) this.#file.write(last, tail, new Uint8Array(this.#unit - tail));
      } else {
        this.#map.grow(units);
      }
      if (sizeSectors !== this.#info.sizeSectors) this.#sizeDirty = true;
      this.#info = { ...this.#info, sizeSectors };
    });
  }

  /** Writes the changed map and superblock (when there are changes) for the next BlockFile commit. */
  #stage(): void {
    if (!this.#map.dirty && !this.#sizeDirty) return;
    const staged = this.#map.stage();
    const { sectorSize, sizeSectors } = this.#info;
    this.#file.setControlDataNoSync(encodeSuperblock({ ...staged, sectorSize, sizeSectors, generation: this.#generation + 1 }));
    this.#generation++;
    this.#sizeDirty = false;
  }

  /**
   * The commit: the changed map is written copy-on-write, then BlockFile.flush makes data, map
   * and superblock durable at once. Runs on the calling thread (two fdatasyncs).
   */
  flush(): Promise<void> {
    return this.#run('flush', () => {
      if (!this.#info.readWrite) return;
      this.#stage();
      try {
        this.#file.flush();
      } catch (error) {
        this.#commitFailed = error;
        throw error;
      }
      this.#commitFailed = undefined;
    });
  }

  seekMapped(sector: number): Promise<number> {
    return this.#run('seekMapped', () => {
      checkSeek(this.#info, sector);
      const { sectorSize, sizeSectors } = this.#info;
      if (sector === sizeSectors) return sizeSectors;
      const unit = this.#map.nextMapped(Math.floor((sector * sectorSize) / this.#unit));
      if (unit < 0) return sizeSectors;
      return Math.min(sizeSectors, Math.max(sector, (unit * this.#unit) / sectorSize));
    });
  }

  seekUnmapped(sector: number): Promise<number> {
    return this.#run('seekUnmapped', () => {
      checkSeek(this.#info, sector);
      const { sectorSize, sizeSectors } = this.#info;
      if (sector === sizeSectors) return sizeSectors;
      const unit = this.#map.nextUnmapped(Math.floor((sector * sectorSize) / this.#unit));
      if (unit < 0) return sizeSectors;
      return Math.min(sizeSectors, Math.max(sector, (unit * this.#unit) / sectorSize));
    });
  }

  /** The map and the file's allocator side by side; throws DISCONNECTED after disconnect. */
  stats(): FmapDeviceStats {
    if (this.#closed) throw BlockError.disconnected(this.path);
    const file = this.#file.stats();
    const owned = new Set<number>([...file.free, ...file.freeListPages]);
    let mapBlocks = 0;
    let dataBlocks = 0;
    let conflictingBlocks = 0;
    this.#map.forEachBlock((block, kind) => {
      if (kind === 'map') mapBlocks++;
      else dataBlocks++;
      if (owned.has(block)) conflictingBlocks++;
      owned.add(block);
    });
    return {
      unitBytes: this.#unit,
      mappedUnits: this.#map.mappedUnits,
      mapBlocks,
      dataBlocks,
      freeBlocks: file.free.length,
      fileBytes: file.size,
      leakedBlocks: (file.size - file.firstBlock) / file.blockSize - owned.size,
      conflictingBlocks,
    };
  }

  /**
   * Commits what changed and closes the file; never rejects. When that commit cannot be made the
   * file is closed without one, keeping its last commit.
   */
  disconnect(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    const file = this.#file;
    try {
      if (this.#info.readWrite) {
        this.#stage();
        file.close();
      } else {
        file.close({ commit: false });
      }
    } catch {
      if (!file.closed) file.close({ commit: false });
    }
    return Promise.resolve();
  }
}
