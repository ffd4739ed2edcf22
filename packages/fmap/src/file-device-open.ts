import * as fs from 'node:fs';
import { BlockError, checkResize, checkSectorSize, toBlockError } from '@blk/core';
import { libuvDeviceIo, syncDeviceIo, type DeviceIo } from './device-io.js';
import { FileDevice } from './file-device.js';
import { acquireLock } from './file-lock.js';
import { isFmapError } from './fmap-error.js';
import { nativeBinding } from './native-binding.js';
import { nativeDeviceIo } from './native-device-io.js';

export interface FileDeviceOptions {
  /** Open read-only: write, discard, writeZeroes and resize reject READ_ONLY. */
  readonly readOnly?: boolean;
  /** Bytes per sector (power of two, 512–65536; default 512). The file must be a whole number of them. */
  readonly sectorSize?: number;
  /** Take `${path}.lock` so no other `@blk` process opens the file read-write meanwhile (default false). */
  readonly lock?: boolean;
  /** Create the file when it is missing (never truncates an existing one). */
  readonly create?: boolean;
  /** Size of a newly created file, in sectors (needed with `create`). */
  readonly sizeSectors?: number;
  /** Use @blk/fmap-native (its I/O engine, lseek, fallocate) when it is built (default true). */
  readonly native?: boolean;
  /**
   * `async` (default): nothing waits for the disk on the event loop. With the addon, reads the
   * page cache can answer complete at once (preadv2 RWF_NOWAIT), whole-page writes up to 256 KiB
   * go straight into the page cache (see `inlineWrites`), and everything else runs on a small
   * native thread pool; without it, on libuv's thread pool (slower). `sync`: blocking calls, so a
   * slow disk stalls everything else in the process.
   */
  readonly io?: 'async' | 'sync';
  /**
   * With the addon and `io: 'async'`: make writes of whole pages (up to 256 KiB) on the calling
   * thread, a few microseconds each, instead of handing them to a thread (default true). The
   * kernel cannot promise such a write will not wait (dirty-page throttling, a journal commit),
   * so one that takes over 2 ms stops inline writes for 100 ms (doubling while it recurs, up to
   * 5 s). `false`: every write goes to the threads.
   */
  readonly inlineWrites?: boolean;
}

function optionsOf(options: unknown): FileDeviceOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) throw new BlockError('INVALID_ARGUMENT', 'options must be an object');
  return options;
}

/**
 * Opens a regular file as a BlockDevice (what mirage-block-unix offers), read-write unless
 * `readOnly`. Rejects with a BlockError: INVALID_ARGUMENT for bad options or a file that is not a
 * whole number of sectors, IO (with the system error as `cause`) when the file cannot be opened
 * or is locked.
 */
export function openFileDevice(path: string, options?: FileDeviceOptions): Promise<FileDevice> {
  return openFileDeviceWithIo(path, options, undefined);
}

/** @internal openFileDevice on a given engine (tests inject faults and slow disks with it). */
export function openFileDeviceWithIo(path: string, options: FileDeviceOptions | undefined, io: DeviceIo | undefined): Promise<FileDevice> {
  try {
    return Promise.resolve(open(path, options, io));
  } catch (error) {
    return Promise.reject(toBlockError(error, `cannot open ${typeof path === 'string' ? path : 'a file'}`));
  }
}

function open(path: string, options: FileDeviceOptions | undefined, given: DeviceIo | undefined): FileDevice {
  const o = optionsOf(options);
  if (typeof path !== 'string' || path.length === 0) throw new BlockError('INVALID_ARGUMENT', 'path must be a non-empty string');
  const sectorSize = o.sectorSize ?? 512;
  checkSectorSize(sectorSize);
  const readOnly = o.readOnly === true;
  if (o.create && readOnly) throw new BlockError('INVALID_ARGUMENT', 'create needs a writable device');
  if (o.sizeSectors !== undefined) checkResize(o.sizeSectors);
  const mode: unknown = o.io;
  if (mode !== undefined && mode !== 'async' && mode !== 'sync') throw new BlockError('INVALID_ARGUMENT', `io must be 'async' or 'sync'`);
  let unlock: () => void = () => undefined;
  if (o.lock && !readOnly) {
    try {
      unlock = acquireLock(path);
    } catch (error) {
      throw BlockError.io(isFmapError(error) ? error.message : `cannot lock ${path}`, error);
    }
  }
  let fd: number | undefined;
  try {
    try {
      fd = fs.openSync(path, readOnly ? 'r' : 'r+');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !o.create) throw error;
      if (o.sizeSectors === undefined) throw new BlockError('INVALID_ARGUMENT', 'create needs sizeSectors for a new file');
      const bytes = o.sizeSectors * sectorSize;
      if (!Number.isSafeInteger(bytes)) throw new BlockError('INVALID_ARGUMENT', `${o.sizeSectors} sectors is too large`);
      fd = fs.openSync(path, 'wx+');
      fs.ftruncateSync(fd, bytes);
    }
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new BlockError('INVALID_ARGUMENT', `${path} is not a regular file`);
    if (stat.size % sectorSize !== 0) {
      throw new BlockError('INVALID_ARGUMENT', `${path} is ${stat.size} bytes, not a whole number of ${sectorSize}-byte sectors`);
    }
    const native = o.native === false ? undefined : nativeBinding();
    const io = given ?? (o.io === 'sync' ? syncDeviceIo : ((native && nativeDeviceIo(native)) ?? libuvDeviceIo));
    const info = { readWrite: !readOnly, sectorSize, sizeSectors: stat.size / sectorSize };
    return new FileDevice(path, fd, io, info, native, unlock, o.inlineWrites !== false);
  } catch (error) {
    if (fd !== undefined) fs.closeSync(fd);
    unlock();
    throw toBlockError(error, `cannot open ${path}`);
  }
}
