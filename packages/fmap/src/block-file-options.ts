import * as fs from 'node:fs';
import { dirname } from 'node:path';
import type { Engine } from './engine.js';
import { nodeFileIo, type FileIo } from './file-io.js';
import { acquireLock } from './file-lock.js';
import { FmapError, ioError } from './fmap-error.js';
import { MmapEngine } from './mmap-engine.js';
import { nativeBinding, type FmapNative } from './native-binding.js';
import { PreadEngine } from './pread-engine.js';

export interface BlockFileOptions {
  /** `pread` (default, pure TypeScript) or `mmap` (needs @blk/fmap-native; E_NO_MMAP otherwise). */
  readonly engine?: 'pread' | 'mmap' | undefined;
  /** Write-back cache of the pread engine (default 32 MiB). */
  readonly cacheBytes?: number | undefined;
  /** Address space the mmap engine reserves so growth never moves the mapping (default 1 GiB). */
  readonly mapReserve?: number | undefined;
  /** Take `${path}.lock` so a second process (or a second open here) is refused (default true). */
  readonly lock?: boolean | undefined;
  /** @internal fault injection for tests */
  readonly io?: FileIo | undefined;
  /** @internal a stand-in for @blk/fmap-native under the mmap engine (the power-loss model in the tests) */
  readonly native?: FmapNative | undefined;
}

export interface CreateOptions extends BlockFileOptions {
  /** A positive multiple of 4096 (fs2's rule), at most 64 MiB. */
  readonly blockSize: number;
}

/** The open file under a BlockFile. */
export interface FileParts {
  readonly path: string;
  readonly fd: number;
  readonly io: FileIo;
  readonly unlock: () => void;
}

export function checkOptions(options: unknown): BlockFileOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) throw new FmapError('E_ARGUMENT', 'options must be an object');
  const o = options as BlockFileOptions;
  const engine: unknown = o.engine;
  if (engine !== undefined && engine !== 'pread' && engine !== 'mmap') {
    throw new FmapError('E_ARGUMENT', `engine must be 'pread' or 'mmap', got ${typeof engine === 'string' ? engine : typeof engine}`);
  }
  for (const key of ['cacheBytes', 'mapReserve'] as const) {
    const value = o[key];
    if (value !== undefined && (!Number.isSafeInteger(value) || value <= 0)) {
      throw new FmapError('E_ARGUMENT', `${key} must be a positive safe integer`);
    }
  }
  return o;
}

export function checkPath(path: unknown): asserts path is string {
  if (typeof path !== 'string' || path.length === 0) throw new FmapError('E_ARGUMENT', 'path must be a non-empty string');
}

export function makeEngine(options: BlockFileOptions, fd: number, io: FileIo, blockSize: number): Engine {
  if (options.engine === 'mmap') {
    const native = options.native ?? nativeBinding();
    if (!native) throw new FmapError('E_NO_MMAP', 'the mmap engine needs @blk/fmap-native, which is not built here');
    return new MmapEngine(native, fd, io, blockSize, options.mapReserve ?? 1 << 30);
  }
  return new PreadEngine(fd, io, blockSize, options.cacheBytes ?? 32 << 20);
}

export function fsyncDirectory(path: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dirname(path), 'r');
    fs.fsyncSync(fd);
  } catch {
    // some file systems refuse to fsync a directory; the file itself is synced
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Locks `path`, opens it with `flags` and hands the open file to `build`; when anything throws, the
 * engine `build` made (reported through `track`), the descriptor and the lock are all released.
 * The one cleanup `create` and `open` share.
 */
export function withOpenFile<T>(
  path: string,
  options: BlockFileOptions,
  flags: 'w+' | 'r+',
  build: (file: FileParts, track: (engine: Engine) => Engine) => T,
): T {
  const io = options.io ?? nodeFileIo;
  const unlock = options.lock === false ? () => undefined : acquireLock(path);
  let fd: number | undefined;
  let engine: Engine | undefined;
  try {
    try {
      fd = fs.openSync(path, flags);
    } catch (error) {
      if (flags === 'r+' && (error as NodeJS.ErrnoException).code === 'ENOENT') throw new FmapError('E_NOENT', `${path} does not exist`);
      throw ioError(error, flags === 'w+' ? `cannot create ${path}` : `cannot open ${path}`);
    }
    return build({ path, fd, io, unlock }, (made) => (engine = made));
  } catch (error) {
    engine?.close();
    if (fd !== undefined) fs.closeSync(fd);
    unlock();
    throw error;
  }
}
