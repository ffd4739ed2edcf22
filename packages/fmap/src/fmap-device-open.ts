import * as fs from 'node:fs';
import { BlockError, checkResize, checkSectorSize, toBlockError } from '@blk/core';
import { BlockFile, type BlockFileOptions } from './block-file.js';
import { mapHeight } from './map-node.js';
import { encodeSuperblock } from './device-superblock.js';
import { FmapDevice } from './fmap-device.js';
import { isFmapError } from './fmap-error.js';
import { checkBlockSize } from './format.js';
import { mapFanout } from './map-block.js';

/** The geometry of a new fmap device. */
export interface FmapCreateOptions {
  readonly sizeSectors: number;
  /** Bytes per sector (power of two, 512–65536; default 512). */
  readonly sectorSize?: number;
  /** Bytes per unit of allocation: the BlockFile's block size (multiple of 4096 and of the sector size; default 64 KiB). */
  readonly blockSize?: number;
}

/** The BlockFile under the device: engine, cache and lock as BlockFile.open takes them. */
export interface FmapDeviceOptions extends Pick<BlockFileOptions, 'engine' | 'cacheBytes' | 'lock' | 'io' | 'native'> {
  /** Make a new device when `path` does not exist (an existing file is opened, never truncated). */
  readonly create?: FmapCreateOptions;
  /** Refuse write, discard, writeZeroes and resize with READ_ONLY (the file is still locked and opened read-write). */
  readonly readOnly?: boolean;
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
  if (typeof create !== 'object' || create === null)
    throw new BlockError('INVALID_ARGUMENT', 'create must be { sizeSectors, sectorSize?, blockSize? }');
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
      encodeSuperblock({
        sectorSize: geometry.sectorSize,
        sizeSectors: geometry.sizeSectors,
        root: 0,
        height,
        mappedUnits: 0,
        mapBlocks: 0,
        generation: 0,
      }),
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
    engine: o.engine,
    cacheBytes: o.cacheBytes,
    lock: o.lock,
    io: o.io,
    native: o.native,
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
