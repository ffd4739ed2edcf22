import * as fs from 'node:fs';
import { Allocator } from './allocator.js';
import { checkBlockCount, checkBlockOffset, checkWithin } from './block-checks.js';
import type { BlockFileStats } from './block-file-stats.js';
import {
  checkOptions,
  checkPath,
  fsyncDirectory,
  makeEngine,
  withOpenFile,
  type BlockFileOptions,
  type CreateOptions,
  type FileParts,
} from './block-file-options.js';
import type { Engine, EngineKind } from './engine.js';
import { FmapError, ioError } from './fmap-error.js';
import {
  CONTROL_DATA_CAPACITY,
  SLOT_OFFSETS,
  checkBlockSize,
  encodeFreePage,
  encodeHeader,
  entriesPerPage,
  firstData,
  type Header,
} from './format.js';
import { readFreeList, readHeader } from './header-read.js';
import { Lease, LeaseBuffers } from './lease.js';
import { MemoryEngine } from './memory-engine.js';

export type { BlockFileOptions, CreateOptions } from './block-file-options.js';

export { MAX_RUN_BYTES } from './block-checks.js';
export type { BlockFileStats } from './block-file-stats.js';

/**
 * A file of fixed-size blocks with an allocator in it: fs2's fmap.BlockFile, with a checksummed
 * two-slot header so `flush()` is a crash-safe commit, typed errors for every misuse, and
 * copy-in/copy-out leases. Offsets are byte offsets of blocks, as in fs2.
 */
export class BlockFile {
  /** The file, or null for an anonymous BlockFile. */
  readonly path: string | null;
  readonly blockSize: number;
  readonly #engine: Engine;
  readonly #file: FileParts | undefined;
  readonly #first: number;
  readonly #buffers = new LeaseBuffers();
  readonly #alloc: Allocator;
  #closed = false;
  #control: Uint8Array;
  #seq: number;
  #metaDirty = false;
  /** Block offset → the live lease covering it. */
  readonly #leased = new Map<number, Lease>();
  #liveLeases = 0;

  private constructor(
    path: string | null,
    engine: Engine,
    file: FileParts | undefined,
    header: Header,
    free: number[],
    metaPages: number[],
  ) {
    this.path = path;
    this.blockSize = header.blockSize;
    this.#engine = engine;
    this.#file = file;
    this.#first = firstData(header.blockSize);
    const state = {
      blockSize: header.blockSize,
      highWater: header.highWater,
      // Anonymous files never commit, so every block counts as new since the last commit.
      committedHighWater: file ? header.highWater : 0,
      free,
      metaPages,
    };
    this.#alloc = new Allocator(state, (end) => {
      engine.ensureCapacity(end, this.#liveLeases === 0);
    });
    this.#control = header.control;
    this.#seq = header.seq;
  }

  /** Creates (or truncates, as fs2 does) `path` as an empty BlockFile. */
  static create(path: string, options: CreateOptions): BlockFile {
    checkPath(path);
    const checked = checkOptions(options);
    checkBlockSize(options.blockSize);
    const blockSize = options.blockSize;
    return withOpenFile(path, checked, 'w+', (file, track) => {
      const header: Header = {
        blockSize,
        seq: 0,
        freeHead: 0,
        freeLength: 0,
        freePages: 0,
        highWater: firstData(blockSize),
        control: new Uint8Array(0),
      };
      try {
        file.io.truncate(file.fd, header.highWater);
        file.io.write(file.fd, encodeHeader(header), SLOT_OFFSETS[0]);
        file.io.datasync(file.fd);
      } catch (error) {
        throw ioError(error, `cannot write the header of ${path}`);
      }
      fsyncDirectory(path);
      const engine = track(makeEngine(checked, file.fd, file.io, blockSize));
      return new BlockFile(path, engine, file, header, [], []);
    });
  }

  /** Opens an existing BlockFile; never creates one. */
  static open(path: string, options?: BlockFileOptions): BlockFile {
    checkPath(path);
    const checked = checkOptions(options);
    if (!fs.existsSync(path)) throw new FmapError('E_NOENT', `${path} does not exist`);
    return withOpenFile(path, checked, 'r+', (file, track) => {
      const { header, fileSize } = readHeader(file.fd, file.io, path);
      const engine = track(makeEngine(checked, file.fd, file.io, header.blockSize));
      // Blocks past the committed high-water mark were never committed: drop them.
      if (fileSize > header.highWater || engine.capacity() !== header.highWater) engine.truncate(header.highWater);
      const { free, pages } = readFreeList(engine, header, path);
      return new BlockFile(path, engine, file, header, free, pages);
    });
  }

  /** A BlockFile in memory only (fs2's Anonymous): flush and sync do nothing, remove is refused. */
  static anonymous(blockSize: number): BlockFile {
    checkBlockSize(blockSize);
    const engine = new MemoryEngine();
    const highWater = firstData(blockSize);
    engine.ensureCapacity(highWater);
    const header: Header = { blockSize, seq: 0, freeHead: 0, freeLength: 0, freePages: 0, highWater, control: new Uint8Array(0) };
    return new BlockFile(null, engine, undefined, header, [], []);
  }

  #open(): void {
    if (this.#closed) throw new FmapError('E_CLOSED', `BlockFile ${this.path ?? '(anonymous)'} is closed`);
  }

  /** Validates a block offset inside the allocated area. */
  #checkOffset(offset: unknown): asserts offset is number {
    checkBlockOffset(offset, this.blockSize, this.#first, this.#alloc.highWater);
  }

  /** Hands out one zeroed block: the most recently freed one, else a new one at the end. */
  allocate(): number {
    this.#open();
    const reuse = this.#alloc.peekReuse();
    if (reuse !== undefined) this.#engine.zero(reuse, this.blockSize);
    const offset = this.#alloc.allocate();
    this.#metaDirty = true;
    return offset;
  }

  /** Hands out `n` contiguous zeroed blocks, always at the end of the file (as fs2). */
  allocateBlocks(n: number): number {
    this.#open();
    checkBlockCount(n, this.blockSize);
    const offset = this.#alloc.grow(n);
    this.#metaDirty = true;
    return offset;
  }

  /** Gives one block back. Double frees, header blocks and leased blocks are refused. */
  free(offset: number): void {
    this.#open();
    this.#checkOffset(offset);
    if (this.#leased.has(offset)) throw new FmapError('E_OUTSTANDING', `block ${offset} is leased`);
    this.#alloc.free(offset);
    this.#metaDirty = true;
  }

  /**
   * Leases `blocks` allocated blocks from `offset`. Release it (or `using`) to write changes back;
   * a range overlapping a live lease is refused (E_OVERLAP) so two views can never disagree.
   */
  get(offset: number, blocks = 1): Lease {
    this.#open();
    this.#checkOffset(offset);
    checkBlockCount(blocks, this.blockSize);
    const end = offset + blocks * this.blockSize;
    if (end > this.#alloc.highWater)
      throw new FmapError('E_RANGE', `blocks [${offset}, ${end}) run past the end (${this.#alloc.highWater})`);
    for (let at = offset; at < end; at += this.blockSize) {
      if (this.#alloc.isFree(at)) throw new FmapError('E_NOT_ALLOCATED', `block ${at} is free`);
      if (this.#alloc.isMeta(at)) throw new FmapError('E_NOT_ALLOCATED', `block ${at} holds the free list`);
      if (this.#leased.has(at)) throw new FmapError('E_OVERLAP', `block ${at} is already leased`);
    }
    const bytes = this.#buffers.take(end - offset);
    this.#engine.read(offset, bytes);
    const lease = new Lease(offset, blocks, bytes, (done, written) => {
      this.#endLease(done, written);
    });
    for (let at = offset; at < end; at += this.blockSize) this.#leased.set(at, lease);
    this.#liveLeases++;
    return lease;
  }

  #endLease(lease: Lease, bytes: Uint8Array): void {
    const end = lease.offset + lease.blocks * this.blockSize;
    for (let at = lease.offset; at < end; at += this.blockSize) this.#leased.delete(at);
    this.#liveLeases--;
    if (!this.#engine.equals(lease.offset, bytes)) this.#engine.write(lease.offset, bytes);
  }

  /** `fn(bytes)` on a lease that is released afterwards, even when `fn` throws. `fn` must be synchronous. */
  do<T>(offset: number, blocks: number, fn: (bytes: Uint8Array) => T): T {
    if (typeof fn !== 'function') throw new FmapError('E_ARGUMENT', 'do() needs a callback');
    const lease = this.get(offset, blocks);
    let result: T;
    try {
      result = fn(lease.bytes);
    } finally {
      lease.release();
    }
    if (typeof (result as { then?: unknown } | null)?.then === 'function') {
      (result as PromiseLike<unknown>).then(undefined, () => undefined);
      throw new FmapError('E_ARGUMENT', 'do() callbacks must be synchronous: the lease ended before the promise settled; use get()');
    }
    return result;
  }

  /** Checks a copy into or out of part of one allocated, unleased block. */
  #checkPart(offset: number, within: number, bytes: Uint8Array): void {
    this.#open();
    this.#checkOffset(offset);
    checkWithin(within, bytes, this.blockSize);
    if (this.#alloc.isFree(offset) || this.#alloc.isMeta(offset)) throw new FmapError('E_NOT_ALLOCATED', `block ${offset} is free`);
    if (this.#leased.has(offset)) throw new FmapError('E_OVERLAP', `block ${offset} is leased`);
  }

  /**
   * Copies `dst.length` bytes of the allocated block at `offset`, from its byte `within`, into
   * `dst`: a lease of just those bytes, without copying the whole block.
   */
  read(offset: number, within: number, dst: Uint8Array): void {
    this.#checkPart(offset, within, dst);
    if (dst.length > 0) this.#engine.read(offset + within, dst);
  }

  /** Copies `src` into the allocated block at `offset` from its byte `within` (durable at the next `flush()`). */
  write(offset: number, within: number, src: Uint8Array): void {
    this.#checkPart(offset, within, src);
    if (src.length > 0) this.#engine.write(offset + within, src);
  }

  /** A copy of the control data (only what was set; empty on a new file). */
  controlData(): Uint8Array {
    this.#open();
    return this.#control.slice();
  }

  /** Replaces the control data in memory; it reaches the file at the next `flush()`. */
  setControlDataNoSync(data: Uint8Array): void {
    this.#open();
    if (!(data instanceof Uint8Array)) throw new FmapError('E_ARGUMENT', 'control data must be a Uint8Array');
    if (data.length > CONTROL_DATA_CAPACITY) {
      throw new FmapError('E_CTRL_TOO_LARGE', `control data of ${data.length} bytes is over ${CONTROL_DATA_CAPACITY}`);
    }
    this.#control = data.slice();
    this.#metaDirty = true;
  }

  /** Replaces the control data and commits it (`flush()`). */
  setControlData(data: Uint8Array): void {
    this.setControlDataNoSync(data);
    this.flush();
  }

  /** fs2's Sync: hands dirty blocks to the operating system. Not durable and not a commit. */
  sync(): void {
    this.#open();
    this.#engine.sync();
  }

  /**
   * The commit: blocks and the new free list → fdatasync → header into the other slot →
   * fdatasync. After a crash, `open` finds the state of the last flush that returned (or of the
   * one in progress, when its header made it).
   */
  flush(): void {
    this.#open();
    if (!this.#file) return;
    if (!this.#metaDirty) {
      this.#engine.flush();
      return;
    }
    const perPage = entriesPerPage(this.blockSize);
    const plan = this.#alloc.planCommit(perPage);
    const { pages, entries } = plan;
    let headerStarted = false;
    try {
      const seq = this.#seq + 1;
      for (let i = 0; i < pages.length; i++) {
        const chunk = entries.slice(i * perPage, (i + 1) * perPage);
        this.#engine.write(pages[i]!, encodeFreePage(this.blockSize, seq, pages[i + 1] ?? 0, chunk));
      }
      this.#engine.flush();
      const header: Header = {
        blockSize: this.blockSize,
        seq,
        freeHead: pages[0] ?? 0,
        freeLength: entries.length,
        freePages: pages.length,
        highWater: this.#alloc.highWater,
        control: this.#control,
      };
      headerStarted = true;
      this.#engine.writeDurable(SLOT_OFFSETS[seq % 2]!, encodeHeader(header));
      this.#alloc.commit(plan);
      this.#seq = seq;
      this.#metaDirty = false;
    } catch (error) {
      this.#alloc.abandonCommit(plan, headerStarted);
      throw error;
    }
  }

  /** Bytes up to the end of the last block (header included), as fs2's Size. */
  size(): number {
    this.#open();
    return this.#alloc.highWater;
  }

  stats(): BlockFileStats {
    this.#open();
    return {
      engine: this.#engine.kind,
      blockSize: this.blockSize,
      size: this.#alloc.highWater,
      firstBlock: this.#first,
      free: this.#alloc.freeBlocks(),
      freeListPages: this.#alloc.freeListPages(),
      seq: this.#seq,
      liveLeases: this.#liveLeases,
    };
  }

  /**
   * Commits (file-backed) and closes. Refused while leases are live; a second close throws E_CLOSED.
   * With `commit: false` nothing is committed: the file keeps its last commit, as after a crash.
   */
  close(options?: { readonly commit?: boolean }): void {
    this.#open();
    if (this.#liveLeases > 0) throw new FmapError('E_OUTSTANDING', `${this.#liveLeases} lease(s) are still live`);
    try {
      if (this.#file && options?.commit !== false) {
        this.flush();
        if (this.#engine.capacity() > this.#alloc.highWater) this.#engine.truncate(this.#alloc.highWater);
      }
    } finally {
      this.#release();
    }
  }

  #release(): void {
    this.#closed = true;
    this.#leased.clear();
    try {
      this.#engine.close();
    } finally {
      if (this.#file) {
        try {
          fs.closeSync(this.#file.fd);
        } finally {
          this.#file.unlock();
        }
      }
    }
  }

  /** Deletes the file. An open BlockFile is closed first without committing; leases must be released. */
  remove(): void {
    const file = this.#file;
    if (!file) throw new FmapError('E_ANONYMOUS', 'an anonymous BlockFile has no file to remove');
    if (!this.#closed) {
      if (this.#liveLeases > 0) throw new FmapError('E_OUTSTANDING', `${this.#liveLeases} lease(s) are still live`);
      this.#release();
    }
    try {
      fs.unlinkSync(file.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new FmapError('E_NOENT', `${file.path} is already gone`);
      throw ioError(error, `cannot remove ${file.path}`);
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  get engine(): EngineKind {
    return this.#engine.kind;
  }
}
