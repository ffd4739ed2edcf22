import * as fs from 'node:fs';
import {
  BlockError,
  checkRange,
  checkRequest,
  checkResize,
  checkSectorSize,
  checkSeek,
  dropUnsupportedMethods,
  RegionLock,
  supports,
  totalBytes,
  toBlockError,
  type BlockDevice,
  type BlockInfo,
  type Release,
  type Supports,
} from '@blk/core';
import { libuvDeviceIo, syncDeviceIo, type DeviceIo, type IoDone, type IoEngineKind } from './device-io.js';
import { acquireLock } from './file-lock.js';
import { isFmapError } from './fmap-error.js';
import { nativeBinding, type FmapNative } from './native-binding.js';
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
   * page cache can answer complete at once (preadv2 RWF_NOWAIT) and everything else runs on a
   * small native thread pool; without it, on libuv's thread pool (slower). `sync`: blocking
   * calls, so a slow disk stalls everything else in the process.
   */
  readonly io?: 'async' | 'sync';
}

const ZERO_CHUNK_BYTES = 1 << 20;
const NO_RELEASE: Release = () => undefined;
const SCAN_BYTES = 1 << 20;
const MAX_SEEK_STEPS = 10_000;
/** How long inline (page-cache) reads may run before the event loop must turn (see #inlineSince). */
const INLINE_BUDGET_MS = 4;

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
  /** The engine reads and writes run on: `native` (the addon's), `libuv` (Node's thread pool) or `sync`. */
  readonly ioEngine: IoEngineKind;
  readonly #fd: number;
  readonly #io: DeviceIo;
  readonly #native: FmapNative | undefined;
  readonly #unlock: () => void;
  #info: BlockInfo;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** False once the engine said it cannot read without waiting: every read then goes async. */
  #readNow = true;
  /**
   * When the current run of inline reads began (-1: none since the event loop last turned). Reads
   * that all hit the page cache never leave the microtask queue, so a caller looping over them
   * (a copy) would starve timers, signals and sockets: past INLINE_BUDGET_MS in one turn, reads
   * take the engine's async path until the loop has turned.
   */
  #inlineSince = -1;
  readonly #loopTurned = () => {
    this.#inlineSince = -1;
  };
  /** Requests started and not finished; `#idle` waiters run when it drops to 0. */
  #inFlight = 0;
  #idleWaiters: (() => void)[] = [];
  /** Set while a resize waits for, then excludes, every other request. */
  #barrier: Promise<void> | undefined;
  /**
   * Byte ranges of the requests on other threads: writes and zeroing claim theirs exclusively,
   * reads shared. The kernel copies a buffered read and a buffered write of the same page at the
   * same time without a lock between them, so without this a read racing an overlapping write
   * sees a torn sector (part old, part new), which `concurrent` promises never happens.
   */
  readonly #regions = new RegionLock();

  /** @internal use openFileDevice */
  constructor(path: string, fd: number, io: DeviceIo, info: BlockInfo, native: FmapNative | undefined, unlock: () => void) {
    this.path = path;
    this.#fd = fd;
    this.#io = io;
    this.ioEngine = io.kind;
    this.#info = info;
    this.#native = native;
    this.#unlock = unlock;
    this.supports = supports({
      write: info.readWrite,
      flush: true,
      // A read-only device says false for every write-type flag (see @blk/core's Supports).
      discard: info.readWrite,
      discardZeroes: info.readWrite,
      writeZeroes: info.readWrite,
      resize: info.readWrite,
      seek: true,
      sparse: native !== undefined,
      persistent: true,
      concurrent: true,
    });
    dropUnsupportedMethods(this);
  }

  #begin(): void {
    this.#inFlight++;
  }

  #end(): void {
    if (--this.#inFlight > 0 || this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }

  #idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** True when a request may start at once: open and no resize pending. */
  #ready(): boolean {
    return this.#barrier === undefined && !this.#closed;
  }

  /** Runs `work` as a tracked request, after any resize in progress. */
  async #request<T>(work: () => Promise<T>): Promise<T> {
    while (this.#barrier && !this.#closed) await this.#barrier;
    if (this.#closed) throw BlockError.disconnected(this.path);
    this.#begin();
    try {
      return await work();
    } finally {
      this.#end();
    }
  }

  #writable(): void {
    if (!this.#info.readWrite) throw BlockError.readOnly(this.path);
  }

  /** One engine call as a tracked promise of its byte count, failures as IO BlockErrors. */
  #call(start: (done: IoDone) => void, what: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#begin();
      start((error, bytes) => {
        this.#end();
        if (error) reject(toBlockError(error, `${this.path}: ${what}`));
        else resolve(bytes);
      });
    });
  }

  getInfo(): Promise<BlockInfo> {
    return this.#request(() => Promise.resolve(this.#info));
  }

  // read and write skip #request's promise hops when nothing stands in the way: a read the page
  // cache answers resolves without leaving the calling tick.
  read(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    if (!this.#ready()) return this.#request(() => this.#checkedRead(sector, buffers));
    return this.#checkedRead(sector, buffers);
  }

  #checkedRead(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    try {
      checkRequest(this.#info, sector, buffers);
    } catch (error) {
      return Promise.reject(toBlockError(error, `${this.path}: bad request`));
    }
    const position = sector * this.#info.sectorSize;
    const end = position + totalBytes(buffers);
    // An inline read finishes before this returns, so only writes already in flight can race it.
    if (this.#readNow && this.#regions.isFree(position, end, true) && this.#inlineBudgetLeft()) {
      let at = position;
      for (let index = 0; index < buffers.length; index++) {
        const buffer = buffers[index]!;
        let done = 0;
        while (done < buffer.length) {
          let bytes: number;
          try {
            bytes = this.#io.readNow(this.#fd, done === 0 ? buffer : buffer.subarray(done), at + done);
          } catch (error) {
            return Promise.reject(toBlockError(error, `${this.path}: read at byte ${at + done}`));
          }
          if (bytes < 0) {
            if (bytes === -2) this.#readNow = false;
            return this.#readRest(buffers, index, done, at, end);
          }
          if (bytes === 0) {
            buffer.fill(0, done); // the file was cut short under us: past its end reads zero
            break;
          }
          done += bytes;
        }
        at += buffer.length;
      }
      return Promise.resolve();
    }
    return this.#readRest(buffers, 0, 0, position, end);
  }

  #inlineBudgetLeft(): boolean {
    const now = performance.now();
    if (this.#inlineSince < 0) {
      this.#inlineSince = now;
      setImmediate(this.#loopTurned);
      return true;
    }
    return now - this.#inlineSince < INLINE_BUDGET_MS;
  }

  /**
   * Reads from `buffers[index]` byte `done` (at file byte `at + done`) up to byte `end` through
   * the engine's async path, once no write in flight overlaps.
   */
  #readRest(buffers: readonly Uint8Array[], index: number, done: number, at: number, end: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#begin();
      let release: Release = NO_RELEASE;
      const finish = (error?: Error): void => {
        release();
        this.#end();
        if (error === undefined) resolve();
        else reject(error);
      };
      const step = (): void => {
        while (index < buffers.length && done >= buffers[index]!.length) {
          at += buffers[index]!.length;
          index++;
          done = 0;
        }
        if (index === buffers.length) {
          finish();
          return;
        }
        const buffer = buffers[index]!;
        const position = at + done;
        this.#io.read(this.#fd, done === 0 ? buffer : buffer.subarray(done), position, (error, bytes) => {
          if (error) {
            finish(toBlockError(error, `${this.path}: read at byte ${position}`));
            return;
          }
          if (bytes === 0) {
            buffer.fill(0, done); // past the end of a file cut short under us reads zero
            done = buffer.length;
          } else {
            done += bytes;
          }
          step();
        });
      };
      const held = this.#regions.acquire(at + done, end, true);
      if (typeof held === 'function') {
        release = held;
        step();
      } else {
        void held.then((granted) => {
          release = granted;
          step();
        });
      }
    });
  }

  write(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    if (!this.#ready()) return this.#request(() => this.#checkedWrite(sector, buffers));
    return this.#checkedWrite(sector, buffers);
  }

  #checkedWrite(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    try {
      this.#writable();
      checkRequest(this.#info, sector, buffers);
    } catch (error) {
      return Promise.reject(toBlockError(error, `${this.path}: bad request`));
    }
    const position = sector * this.#info.sectorSize;
    return this.#claimed(position, position + totalBytes(buffers), () => this.#writeAt(position, buffers));
  }

  /** Runs `work` (counted in flight from now) once it holds [start, end) exclusively. */
  #claimed<T>(start: number, end: number, work: () => Promise<T>): Promise<T> {
    this.#begin();
    const run = (release: Release): Promise<T> => {
      let running: Promise<T>;
      try {
        running = work();
      } catch (error) {
        running = Promise.reject(toBlockError(error, `${this.path}: request`));
      }
      return running.finally(() => {
        release();
        this.#end();
      });
    };
    const held = this.#regions.acquire(start, end);
    return typeof held === 'function' ? run(held) : held.then(run);
  }

  #writeAt(position: number, buffers: readonly Uint8Array[]): Promise<void> {
    let pending = buffers.length === 1 ? buffers : buffers.filter((b) => b.length > 0);
    let left = 0;
    for (const buffer of pending) left += buffer.length;
    if (left === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#begin();
      let at = position;
      const step = (): void => {
        this.#io.writev(this.#fd, pending, at, (error, bytes) => {
          if (error) {
            this.#end();
            reject(toBlockError(error, `${this.path}: write at byte ${at}`));
            return;
          }
          left -= bytes;
          if (left <= 0) {
            this.#end();
            resolve();
            return;
          }
          at += bytes;
          let skip = bytes;
          const rest: Uint8Array[] = [];
          for (const b of pending) {
            if (skip >= b.length) skip -= b.length;
            else {
              rest.push(skip > 0 ? b.subarray(skip) : b);
              skip = 0;
            }
          }
          pending = rest;
          step();
        });
      };
      step();
    });
  }

  #sync<T>(fn: () => T, what: string): T {
    try {
      return fn();
    } catch (error) {
      throw toBlockError(error, `${this.path}: ${what}`);
    }
  }

  flush(): Promise<void> {
    return this.#request(async () => {
      await this.#call((done) => this.#io.datasync(this.#fd, done), 'fdatasync');
    });
  }

  /** Zeroes the sectors; where the file system can, the space is given back (a punched hole). */
  discard(sector: number, count: number): Promise<void> {
    return this.#request(async () => {
      this.#writable();
      checkRange(this.#info, sector, count);
      const { sectorSize } = this.#info;
      await this.#claimed(sector * sectorSize, (sector + count) * sectorSize, () => this.#zero(sector, count));
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
      await this.#call((done) => this.#io.truncate(this.#fd, bytes, done), `truncate to ${bytes} bytes`);
      this.#info = { ...this.#info, sizeSectors };
    });
  }

  /** Waits for every request in flight, then runs `work` with new requests held back. */
  async #exclusive(work: () => Promise<void>): Promise<void> {
    while (this.#barrier) await this.#barrier;
    if (this.#closed) throw BlockError.disconnected(this.path);
    const run = (async () => {
      await this.#idle();
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

  // With the addon a seek is one or two lseek calls on this thread: answered without #request's
  // promise hops when nothing stands in the way (a server may ask before every large read).
  seekMapped(sector: number): Promise<number> {
    if (this.#native && this.#ready()) return this.#settle(() => this.#seekMappedNow(sector));
    return this.#request(async () => (this.#native ? this.#seekMappedNow(sector) : this.#scanFrom(sector, false)));
  }

  seekUnmapped(sector: number): Promise<number> {
    if (this.#native && this.#ready()) {
      let found: number | { scanFrom: number };
      try {
        found = this.#seekUnmappedNow(sector);
      } catch (error) {
        return Promise.reject(toBlockError(error, `${this.path}: seek`));
      }
      if (typeof found === 'number') return Promise.resolve(found);
    }
    return this.#request(async () => {
      if (!this.#native) return this.#scanFrom(sector, true);
      const found = this.#seekUnmappedNow(sector);
      return typeof found === 'number' ? found : this.#scan(found.scanFrom, true);
    });
  }

  #settle(fn: () => number): Promise<number> {
    try {
      return Promise.resolve(fn());
    } catch (error) {
      return Promise.reject(toBlockError(error, `${this.path}: seek`));
    }
  }

  async #scanFrom(sector: number, wantZero: boolean): Promise<number> {
    checkSeek(this.#info, sector);
    if (sector === this.#info.sizeSectors) return sector;
    return this.#scan(sector, wantZero);
  }

  #seekMappedNow(sector: number): number {
    checkSeek(this.#info, sector);
    const { sectorSize, sizeSectors } = this.#info;
    if (sector === sizeSectors) return sizeSectors;
    const native = this.#native!;
    // ENXIO in a trailing hole means "no more data": the end of the device, not an error.
    const data = this.#sync(() => native.seekData(this.#fd, sector * sectorSize), 'lseek(SEEK_DATA)');
    if (data < 0) return sizeSectors;
    return Math.min(sizeSectors, Math.max(sector, Math.floor(data / sectorSize)));
  }

  /** The first unmapped sector at or after `sector`, or where to scan from when lseek keeps finding sub-sector holes. */
  #seekUnmappedNow(sector: number): number | { scanFrom: number } {
    checkSeek(this.#info, sector);
    const { sectorSize, sizeSectors } = this.#info;
    if (sector === sizeSectors) return sizeSectors;
    const native = this.#native!;
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
    return { scanFrom: Math.floor(position / sectorSize) };
  }

  /** Without lseek: the first sector at or after `sector` that is all zero (`wantZero`) or not. */
  async #scan(sector: number, wantZero: boolean): Promise<number> {
    const { sectorSize, sizeSectors } = this.#info;
    const perChunk = Math.max(1, Math.floor(SCAN_BYTES / sectorSize));
    const chunk = new Uint8Array(perChunk * sectorSize);
    for (let at = sector; at < sizeSectors; at += perChunk) {
      const n = Math.min(perChunk, sizeSectors - at);
      const view = chunk.subarray(0, n * sectorSize);
      const bytesRead = await this.#call((done) => this.#io.read(this.#fd, view, at * sectorSize, done), `read at sector ${at}`);
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
      await Promise.allSettled([this.#idle(), this.#barrier]);
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
