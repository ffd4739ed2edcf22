import * as fs from 'node:fs';
import {
  BlockError,
  checkRange,
  checkRequest,
  checkResize,
  checkSeek,
  dropUnsupportedMethods,
  RegionLock,
  settled,
  supports,
  totalBytes,
  toBlockError,
  type BlockDevice,
  type BlockInfo,
  type Release,
  type Supports,
} from '@blk/core';
import type { DeviceIo, IoDone, IoEngineKind } from './device-io.js';
import { scanSectors, seekDataSector, seekHoleSector } from './file-seek.js';
import { InlineWrites } from './inline-writes.js';
import { writeAll } from './write-all.js';
import type { FmapNative } from './native-binding.js';
import { RequestGate } from './request-gate.js';

const ZERO_CHUNK_BYTES = 1 << 20;
const NO_RELEASE: Release = () => undefined;
/** How long inline (page-cache) reads may run before the event loop must turn (see #inlineSince). */
const INLINE_BUDGET_MS = 4;

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
  #closing: Promise<void> | undefined;
  readonly #gate: RequestGate;
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
  /**
   * Byte ranges of the requests on other threads: writes and zeroing claim theirs exclusively,
   * reads shared. The kernel copies a buffered read and a buffered write of the same page at the
   * same time without a lock between them, so without this a read racing an overlapping write
   * sees a torn sector (part old, part new), which `concurrent` promises never happens.
   */
  readonly #regions = new RegionLock();
  readonly #inlineWrites: InlineWrites;

  /** @internal use openFileDevice */
  constructor(
    path: string,
    fd: number,
    io: DeviceIo,
    info: BlockInfo,
    native: FmapNative | undefined,
    unlock: () => void,
    inlineWrites = true,
  ) {
    this.path = path;
    this.#inlineWrites = new InlineWrites(io.pageSize, inlineWrites);
    this.#gate = new RequestGate(path);
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

  #writable(): void {
    if (!this.#info.readWrite) throw BlockError.readOnly(this.path);
  }

  /** One engine call as a tracked promise of its byte count, failures as IO BlockErrors. */
  #call(start: (done: IoDone) => void, what: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#gate.begin();
      start((error, bytes) => {
        this.#gate.end();
        if (error) reject(toBlockError(error, `${this.path}: ${what}`));
        else resolve(bytes);
      });
    });
  }

  getInfo(): Promise<BlockInfo> {
    return this.#gate.request(() => Promise.resolve(this.#info));
  }

  // read and write skip #request's promise hops when nothing stands in the way: a read the page
  // cache answers resolves without leaving the calling tick.
  read(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    if (!this.#gate.ready()) return this.#gate.request(() => this.#checkedRead(sector, buffers));
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
      this.#gate.begin();
      let release: Release = NO_RELEASE;
      const finish = (error?: Error): void => {
        release();
        this.#gate.end();
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
    if (!this.#gate.ready()) return this.#gate.request(() => this.#checkedWrite(sector, buffers));
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
    const bytes = totalBytes(buffers);
    // Like an inline read, an inline write is over before this returns: only requests already in
    // flight can overlap it.
    const started = performance.now();
    if (
      this.#inlineWrites.allows(position, bytes, started) &&
      this.#regions.isFree(position, position + bytes) &&
      this.#inlineBudgetLeft()
    ) {
      let written: number;
      try {
        written = this.#io.writeNow(this.#fd, buffers, position);
      } catch (error) {
        return Promise.reject(toBlockError(error, `${this.path}: write at byte ${position}`));
      }
      if (written >= 0) {
        this.#inlineWrites.took(this.#io.lastWriteWaitMs, started + this.#io.lastWriteWaitMs);
        return Promise.resolve();
      }
      if (written === -2) this.#inlineWrites.disable();
    }
    return this.#claimed(position, position + bytes, () => this.#writeAt(position, buffers));
  }

  /** Runs `work` (counted in flight from now) once it holds [start, end) exclusively. */
  #claimed<T>(start: number, end: number, work: () => Promise<T>): Promise<T> {
    this.#gate.begin();
    const run = (release: Release): Promise<T> => {
      let running: Promise<T>;
      try {
        running = work();
      } catch (error) {
        running = Promise.reject(toBlockError(error, `${this.path}: request`));
      }
      return running.finally(() => {
        release();
        this.#gate.end();
      });
    };
    const held = this.#regions.acquire(start, end);
    return typeof held === 'function' ? run(held) : held.then(run);
  }

  #writeAt(position: number, buffers: readonly Uint8Array[]): Promise<void> {
    return writeAll(this.#io, this.#fd, position, buffers, this.#gate, this.path);
  }

  #sync<T>(fn: () => T, what: string): T {
    try {
      return fn();
    } catch (error) {
      throw toBlockError(error, `${this.path}: ${what}`);
    }
  }

  flush(): Promise<void> {
    return this.#gate.request(async () => {
      await this.#call((done) => this.#io.datasync(this.#fd, done), 'fdatasync');
    });
  }

  /** Zeroes the sectors; where the file system can, the space is given back (a punched hole). */
  discard(sector: number, count: number): Promise<void> {
    return this.#gate.request(async () => {
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
    if (this.#gate.closed) throw BlockError.disconnected(this.path);
    this.#writable();
    checkResize(sizeSectors);
    const bytes = sizeSectors * this.#info.sectorSize;
    if (!Number.isSafeInteger(bytes)) throw new BlockError('INVALID_ARGUMENT', `${sizeSectors} sectors is too large`);
    await this.#gate.exclusive(async () => {
      await this.#call((done) => this.#io.truncate(this.#fd, bytes, done), `truncate to ${bytes} bytes`);
      this.#info = { ...this.#info, sizeSectors };
    });
  }

  // With the addon a seek is one or two lseek calls on this thread: answered without #request's
  // promise hops when nothing stands in the way (a server may ask before every large read).
  seekMapped(sector: number): Promise<number> {
    if (this.#native && this.#gate.ready()) return settled(() => this.#seekMappedNow(sector));
    return this.#gate.request(async () => (this.#native ? this.#seekMappedNow(sector) : this.#scanFrom(sector, false)));
  }

  seekUnmapped(sector: number): Promise<number> {
    if (this.#native && this.#gate.ready()) {
      let found: number | { scanFrom: number };
      try {
        found = this.#seekUnmappedNow(sector);
      } catch (error) {
        return Promise.reject(toBlockError(error, `${this.path}: seek`));
      }
      if (typeof found === 'number') return Promise.resolve(found);
    }
    return this.#gate.request(async () => {
      if (!this.#native) return this.#scanFrom(sector, true);
      const found = this.#seekUnmappedNow(sector);
      return typeof found === 'number' ? found : this.#scan(found.scanFrom, true);
    });
  }

  async #scanFrom(sector: number, wantZero: boolean): Promise<number> {
    checkSeek(this.#info, sector);
    if (sector === this.#info.sizeSectors) return sector;
    return this.#scan(sector, wantZero);
  }

  #seekMappedNow(sector: number): number {
    return seekDataSector(this.#native!, this.#fd, this.#info, sector, this.path);
  }

  #seekUnmappedNow(sector: number): number | { scanFrom: number } {
    return seekHoleSector(this.#native!, this.#fd, this.#info, sector, this.path);
  }

  /** Without lseek: the first sector at or after `sector` that is all zero (`wantZero`) or not. */
  #scan(sector: number, wantZero: boolean): Promise<number> {
    const read = (view: Uint8Array, at: number) =>
      this.#call((done) => this.#io.read(this.#fd, view, at * this.#info.sectorSize, done), `read at sector ${at}`);
    return scanSectors(this.#info, sector, wantZero, read);
  }

  /** Waits for requests in flight, closes the file and drops the lock. Never rejects. */
  disconnect(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#gate.close();
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
