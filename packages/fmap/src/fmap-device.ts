import * as fs from 'node:fs';
import {
  BlockError,
  checkRange,
  checkRequest,
  checkResize,
  checkSectorSize,
  checkSeek,
  dropUnsupportedMethods,
  settled,
  supports,
  toBlockError,
  type BlockDevice,
  type BlockInfo,
  type Supports,
} from '@blk/core';
import { BlockFile, type BlockFileOptions } from './block-file.js';
import { BlockMap, mapHeight } from './block-map.js';
import { mapFanout } from './map-block.js';
import { decodeSuperblock, encodeSuperblock } from './device-superblock.js';
import type { FileIo } from './file-io.js';
import { FmapError, isFmapError } from './fmap-error.js';
import { checkBlockSize } from './format.js';
import type { FmapNative } from './native-binding.js';

/** The geometry of a new fmap device. */
export interface FmapCreateOptions {
  readonly sizeSectors: number;
  /** Bytes per sector (power of two, 512–65536; default 512). */
  readonly sectorSize?: number;
  /** Bytes per unit of allocation: the BlockFile's block size (multiple of 4096 and of the sector size; default 64 KiB). */
  readonly blockSize?: number;
}

export interface FmapDeviceOptions {
  /** Make a new device when `path` does not exist (an existing file is opened, never truncated). */
  readonly create?: FmapCreateOptions;
  /** Refuse write, discard, writeZeroes and resize with READ_ONLY (the file is still locked and opened read-write). */
  readonly readOnly?: boolean;
  /** The BlockFile engine: `pread` (default) or `mmap` (needs @blk/fmap-native). */
  readonly engine?: 'pread' | 'mmap';
  /** The pread engine's write-back cache (default 32 MiB). */
  readonly cacheBytes?: number;
  /** Take `${path}.lock` (default true): a second open, read-only or not, is refused. */
  readonly lock?: boolean;
  /** @internal fault injection for tests */
  readonly io?: FileIo;
  /** @internal a stand-in for @blk/fmap-native (the power-loss model in the tests) */
  readonly native?: FmapNative;
}

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

export const DEFAULT_FMAP_BLOCK_SIZE = 64 * 1024;

function optionsOf(options: unknown): FmapDeviceOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) throw new BlockError('INVALID_ARGUMENT', 'options must be an object');
  return options;
}

/**
 * BlockFile refuses bad options with E_ARGUMENT/E_BLOCKSIZE: for a device they are
 * INVALID_ARGUMENT. Other FmapErrors at open already name the file: they become IO as they are.
 */
function deviceError(error: unknown, what: string): BlockError {
  if (isFmapError(error, 'E_ARGUMENT') || isFmapError(error, 'E_BLOCKSIZE')) {
    return new BlockError('INVALID_ARGUMENT', error.message, { cause: error });
  }
  if (isFmapError(error)) return BlockError.io(error.message, error);
  return toBlockError(error, what);
}

interface Geometry {
  readonly sectorSize: number;
  readonly sizeSectors: number;
  readonly blockSize: number;
}

function checkGeometry(create: unknown): Geometry {
  if (typeof create !== 'object' || create === null) throw new BlockError('INVALID_ARGUMENT', 'create must be { sizeSectors, sectorSize?, blockSize? }');
  const c = create as FmapCreateOptions;
  const sectorSize = c.sectorSize ?? 512;
  checkSectorSize(sectorSize);
  checkResize(c.sizeSectors);
  const blockSize = c.blockSize ?? Math.max(DEFAULT_FMAP_BLOCK_SIZE, sectorSize);
  checkBlockSize(blockSize);
  if (blockSize % sectorSize !== 0) {
    throw new BlockError('INVALID_ARGUMENT', `block size ${blockSize} is not a multiple of the ${sectorSize}-byte sector`);
  }
  if (!Number.isSafeInteger(c.sizeSectors * sectorSize)) throw new BlockError('INVALID_ARGUMENT', `${c.sizeSectors} sectors is too large`);
  return { sectorSize, sizeSectors: c.sizeSectors, blockSize };
}

/** Makes `path` a new, empty device unless it exists; undefined when it does. */
function createIfMissing(path: string, geometry: Geometry, options: BlockFileOptions): BlockFile | undefined {
  try {
    fs.closeSync(fs.openSync(path, 'wx'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw error;
  }
  let file: BlockFile | undefined;
  try {
    file = BlockFile.create(path, { ...options, blockSize: geometry.blockSize });
    const units = Math.ceil((geometry.sizeSectors * geometry.sectorSize) / geometry.blockSize);
    const height = mapHeight(units, mapFanout(geometry.blockSize));
    file.setControlData(
      encodeSuperblock({ sectorSize: geometry.sectorSize, sizeSectors: geometry.sizeSectors, root: 0, height, mappedUnits: 0, mapBlocks: 0, generation: 0 }),
    );
    return file;
  } catch (error) {
    if (file) file.remove();
    else fs.rmSync(path, { force: true });
    throw error;
  }
}

function open(path: string, options: FmapDeviceOptions | undefined): FmapDevice {
  const o = optionsOf(options);
  if (typeof path !== 'string' || path.length === 0) throw new BlockError('INVALID_ARGUMENT', 'path must be a non-empty string');
  const readOnly = o.readOnly === true;
  const fileOptions: BlockFileOptions = {
    ...(o.engine === undefined ? {} : { engine: o.engine }),
    ...(o.cacheBytes === undefined ? {} : { cacheBytes: o.cacheBytes }),
    ...(o.lock === undefined ? {} : { lock: o.lock }),
    ...(o.io === undefined ? {} : { io: o.io }),
    ...(o.native === undefined ? {} : { native: o.native }),
  };
  if (o.create !== undefined) {
    if (readOnly) throw new BlockError('INVALID_ARGUMENT', 'create needs a writable device');
    const created = createIfMissing(path, checkGeometry(o.create), fileOptions);
    if (created) return FmapDevice.load(path, created, readOnly);
  }
  return FmapDevice.load(path, BlockFile.open(path, fileOptions), readOnly);
}

/**
 * Opens (or with `create`, makes) a thin-provisioned disk stored in a BlockFile. Rejects with a
 * BlockError: INVALID_ARGUMENT for bad options, IO for a file that cannot be used — its `cause`
 * is the FmapError saying why (E_NOENT, E_LOCKED, E_NOT_DEVICE for a BlockFile holding something
 * else, E_CHECKSUM/E_CORRUPT for a damaged one…).
 */
export function openFmapDevice(path: string, options?: FmapDeviceOptions): Promise<FmapDevice> {
  try {
    return Promise.resolve(open(path, options));
  } catch (error) {
    return Promise.reject(deviceError(error, `cannot open ${typeof path === 'string' ? path : 'an fmap device'}`));
  }
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
      if (!Number.isSafeInteger(sb.sizeSectors * sb.sectorSize)) throw corrupt(`${sb.sizeSectors} sectors of ${sb.sectorSize} bytes is too large`);
      try {
        checkSectorSize(sb.sectorSize);
      } catch {
        throw corrupt(`sector size ${sb.sectorSize} is not a power of two from 512 to 65536`);
      }
      if (file.blockSize % sb.sectorSize !== 0) throw corrupt(`block size ${file.blockSize} is not a multiple of the ${sb.sectorSize}-byte sector`);
      const units = Math.ceil((sb.sizeSectors * sb.sectorSize) / file.blockSize);
      if (sb.height !== mapHeight(units, mapFanout(file.blockSize))) throw corrupt(`a map of height ${sb.height} cannot be right for ${units} units`);
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

  /** Calls `fn(unit, within, length, done)` for each piece of `[position, position + length)` inside one unit. */
  #units(position: number, length: number, fn: (unit: number, within: number, length: number, done: number) => void): void {
    const size = this.#unit;
    for (let done = 0; done < length; ) {
      const unit = Math.floor((position + done) / size);
      const within = position + done - unit * size;
      const n = Math.min(size - within, length - done);
      fn(unit, within, n, done);
      done += n;
    }
  }

  read(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    return this.#run('read', () => {
      checkRequest(this.#info, sector, buffers);
      let position = sector * this.#info.sectorSize;
      for (const buffer of buffers) {
        this.#units(position, buffer.length, (unit, within, n, done) => {
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
        this.#units(position, buffer.length, (unit, within, n, done) => {
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
