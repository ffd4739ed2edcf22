import * as fs from 'node:fs';
import {
  BlockError,
  checkRange,
  checkRequest,
  checkResize,
  checkSectorSize,
  checkSeek,
  supports,
  toBlockError,
  type BlockDevice,
  type BlockInfo,
  type Supports,
} from '@blk/core';
import { asyncDeviceIo, syncDeviceIo, type DeviceIo } from './device-io.js';
import { acquireLock } from './file-lock.js';
import { isFmapError } from './fmap-error.js';
import { nativeBinding, type FmapNative } from './native-binding.js';

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
  /** Use lseek/fallocate from @blk/fmap-native when it is built (default true). */
  readonly native?: boolean;
  /**
   * `async` (default): reads and writes run on libuv's thread pool and never block the event
   * loop. `sync`: blocking calls, several times faster on page-cache hits, but a slow disk
   * stalls everything else in the process.
   */
  readonly io?: 'async' | 'sync';
}

const ZERO_CHUNK_BYTES = 1 << 20;
const SCAN_BYTES = 1 << 20;
const MAX_SEEK_STEPS = 10_000;

function optionsOf(options: unknown): FileDeviceOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) throw new BlockError('INVALID_ARGUMENT', 'options must be an object');
  return options;
}

function isZero(bytes: Uint8Array): boolean {
  for (const byte of bytes) if (byte !== 0) return false;
  return true;
}

/**
 * Opens a regular file as a BlockDevice (what mirage-block-unix offers), read-write unless
 * `readOnly`. Rejects with a BlockError: INVALID_ARGUMENT for bad options or a file that is not a
 * whole number of sectors, IO (with the system error as `cause`) when the file cannot be opened
 * or is locked.
 */
export function openFileDevice(path: string, options?: FileDeviceOptions): Promise<FileDevice> {
  try {
    return Promise.resolve(open(path, options));
  } catch (error) {
    return Promise.reject(toBlockError(error, `cannot open ${typeof path === 'string' ? path : 'a file'}`));
  }
}

function open(path: string, options: FileDeviceOptions | undefined): FileDevice {
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
    const io = o.io === 'sync' ? syncDeviceIo : asyncDeviceIo;
    const info = { readWrite: !readOnly, sectorSize, sizeSectors: stat.size / sectorSize };
    return new FileDevice(path, fd, io, info, native, unlock);
  } catch (error) {
    if (fd !== undefined) fs.closeSync(fd);
    unlock();
    throw toBlockError(error, `cannot open ${path}`);
  }
}

/** A file-backed BlockDevice; make one with `openFileDevice`. */
export class FileDevice implements BlockDevice {
  readonly supports: Supports;
  readonly path: string;
  readonly #fd: number;
  readonly #io: DeviceIo;
  readonly #native: FmapNative | undefined;
  readonly #unlock: () => void;
  #info: BlockInfo;
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #inFlight = new Set<Promise<unknown>>();
  /** Set while a resize waits for, then excludes, every other request. */
  #barrier: Promise<void> | undefined;

  /** @internal use openFileDevice */
  constructor(path: string, fd: number, io: DeviceIo, info: BlockInfo, native: FmapNative | undefined, unlock: () => void) {
    this.path = path;
    this.#fd = fd;
    this.#io = io;
    this.#info = info;
    this.#native = native;
    this.#unlock = unlock;
    this.supports = supports({
      write: info.readWrite,
      flush: true,
      discard: true,
      discardZeroes: true,
      writeZeroes: true,
      resize: true,
      seek: true,
      sparse: native !== undefined,
      persistent: true,
      concurrent: true,
    });
  }

  /** Runs `work` as a tracked request, after any resize in progress. */
  async #request<T>(work: () => Promise<T>): Promise<T> {
    while (this.#barrier && !this.#closed) await this.#barrier;
    if (this.#closed) throw BlockError.disconnected(this.path);
    const promise = work();
    this.#inFlight.add(promise);
    try {
      return await promise;
    } finally {
      this.#inFlight.delete(promise);
    }
  }

  #writable(): void {
    if (!this.#info.readWrite) throw BlockError.readOnly(this.path);
  }

  getInfo(): Promise<BlockInfo> {
    return this.#request(() => Promise.resolve(this.#info));
  }

  read(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    return this.#request(async () => {
      checkRequest(this.#info, sector, buffers);
      let position = sector * this.#info.sectorSize;
      for (const buffer of buffers) {
        let done = 0;
        while (done < buffer.length) {
          const at = position + done;
          const bytesRead = await this.#call(this.#io.read(this.#fd, buffer.subarray(done), at), `read at byte ${at}`);
          if (bytesRead === 0) {
            buffer.fill(0, done); // the file was cut short under us: past its end reads zero
            break;
          }
          done += bytesRead;
        }
        position += buffer.length;
      }
    });
  }

  write(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    return this.#request(async () => {
      this.#writable();
      checkRequest(this.#info, sector, buffers);
      await this.#writeAt(sector * this.#info.sectorSize, buffers);
    });
  }

  async #writeAt(position: number, buffers: readonly Uint8Array[]): Promise<void> {
    let pending = buffers.filter((b) => b.length > 0);
    let at = position;
    while (pending.length > 0) {
      const bytesWritten = await this.#call(this.#io.writev(this.#fd, pending, at), `write at byte ${at}`);
      at += bytesWritten;
      let skip = bytesWritten;
      const rest: Uint8Array[] = [];
      for (const b of pending) {
        if (skip >= b.length) skip -= b.length;
        else {
          rest.push(skip > 0 ? b.subarray(skip) : b);
          skip = 0;
        }
      }
      pending = rest;
    }
  }

  async #call<T>(promise: Promise<T>, what: string): Promise<T> {
    try {
      return await promise;
    } catch (error) {
      throw toBlockError(error, `${this.path}: ${what}`);
    }
  }

  #sync<T>(fn: () => T, what: string): T {
    try {
      return fn();
    } catch (error) {
      throw toBlockError(error, `${this.path}: ${what}`);
    }
  }

  flush(): Promise<void> {
    return this.#request(() => this.#call(this.#io.datasync(this.#fd), 'fdatasync'));
  }

  /** Zeroes the sectors; where the file system can, the space is given back (a punched hole). */
  discard(sector: number, count: number): Promise<void> {
    return this.#request(async () => {
      this.#writable();
      checkRange(this.#info, sector, count);
      await this.#zero(sector, count);
    });
  }

  writeZeroes(sector: number, count: number): Promise<void> {
    return this.discard(sector, count);
  }

  async #zero(sector: number, count: number): Promise<void> {
    if (count === 0) return;
    const { sectorSize } = this.#info;
    const start = sector * sectorSize;
    const length = count * sectorSize;
    const native = this.#native;
    // KEEP_SIZE is what mirage-block-unix left out: without it Linux refuses PUNCH_HOLE outright.
    if (native && this.#sync(() => native.punchHole(this.#fd, start, length), 'fallocate(PUNCH_HOLE)')) return;
    const zeroes = new Uint8Array(Math.min(ZERO_CHUNK_BYTES, length));
    for (let done = 0; done < length; done += zeroes.length) {
      await this.#writeAt(start + done, [zeroes.subarray(0, Math.min(zeroes.length, length - done))]);
    }
  }

  async resize(sizeSectors: number): Promise<void> {
    if (this.#closed) throw BlockError.disconnected(this.path);
    this.#writable();
    checkResize(sizeSectors);
    const bytes = sizeSectors * this.#info.sectorSize;
    if (!Number.isSafeInteger(bytes)) throw new BlockError('INVALID_ARGUMENT', `${sizeSectors} sectors is too large`);
    await this.#exclusive(async () => {
      await this.#call(this.#io.truncate(this.#fd, bytes), `truncate to ${bytes} bytes`);
      this.#info = { ...this.#info, sizeSectors };
    });
  }

  /** Waits for every request in flight, then runs `work` with new requests held back. */
  async #exclusive(work: () => Promise<void>): Promise<void> {
    while (this.#barrier) await this.#barrier;
    if (this.#closed) throw BlockError.disconnected(this.path);
    const run = (async () => {
      await Promise.allSettled([...this.#inFlight]);
      if (this.#closed) throw BlockError.disconnected(this.path);
      await work();
    })();
    const barrier = run.then(
      () => undefined,
      () => undefined,
    );
    this.#barrier = barrier;
    try {
      await run;
    } finally {
      if (this.#barrier === barrier) this.#barrier = undefined;
    }
  }

  seekMapped(sector: number): Promise<number> {
    return this.#request(async () => {
      checkSeek(this.#info, sector);
      const { sectorSize, sizeSectors } = this.#info;
      if (sector === sizeSectors) return sizeSectors;
      const native = this.#native;
      if (!native) return this.#scan(sector, false);
      // ENXIO in a trailing hole means "no more data": the end of the device, not an error.
      const data = this.#sync(() => native.seekData(this.#fd, sector * sectorSize), 'lseek(SEEK_DATA)');
      if (data < 0) return sizeSectors;
      return Math.min(sizeSectors, Math.max(sector, Math.floor(data / sectorSize)));
    });
  }

  seekUnmapped(sector: number): Promise<number> {
    return this.#request(async () => {
      checkSeek(this.#info, sector);
      const { sectorSize, sizeSectors } = this.#info;
      if (sector === sizeSectors) return sizeSectors;
      const native = this.#native;
      if (!native) return this.#scan(sector, true);
      const fd = this.#fd;
      let position = sector * sectorSize;
      for (let step = 0; step < MAX_SEEK_STEPS; step++) {
        const hole = this.#sync(() => native.seekHole(fd, position), 'lseek(SEEK_HOLE)');
        if (hole < 0) return sizeSectors;
        const candidate = Math.max(sector, Math.ceil(hole / sectorSize));
        if (candidate >= sizeSectors) return sizeSectors;
        // A hole may be shorter than a sector: only a sector with no data in it is guaranteed zero.
        const data = this.#sync(() => native.seekData(fd, candidate * sectorSize), 'lseek(SEEK_DATA)');
        if (data < 0 || data >= (candidate + 1) * sectorSize) return candidate;
        position = data;
      }
      return this.#scan(Math.floor(position / sectorSize), true);
    });
  }

  /** Without lseek: the first sector at or after `sector` that is all zero (`wantZero`) or not. */
  async #scan(sector: number, wantZero: boolean): Promise<number> {
    const { sectorSize, sizeSectors } = this.#info;
    const perChunk = Math.max(1, Math.floor(SCAN_BYTES / sectorSize));
    const chunk = new Uint8Array(perChunk * sectorSize);
    for (let at = sector; at < sizeSectors; at += perChunk) {
      const n = Math.min(perChunk, sizeSectors - at);
      const view = chunk.subarray(0, n * sectorSize);
      const bytesRead = await this.#call(this.#io.read(this.#fd, view, at * sectorSize), `read at sector ${at}`);
      view.fill(0, bytesRead);
      for (let i = 0; i < n; i++) {
        if (isZero(view.subarray(i * sectorSize, (i + 1) * sectorSize)) === wantZero) return at + i;
      }
    }
    return sizeSectors;
  }

  /** Waits for requests in flight, closes the file and drops the lock. Never rejects. */
  disconnect(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      await Promise.allSettled([...this.#inFlight, this.#barrier]);
      await new Promise<void>((resolve) => {
        fs.close(this.#fd, () => {
          resolve();
        });
      });
      this.#unlock();
    })();
    return this.#closing;
  }
}
