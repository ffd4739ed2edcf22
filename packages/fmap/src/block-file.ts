import * as fs from 'node:fs';
import { dirname } from 'node:path';
import type { Engine, EngineKind } from './engine.js';
import { nodeFileIo, type FileIo } from './file-io.js';
import { acquireLock } from './file-lock.js';
import { FmapError, ioError } from './fmap-error.js';
import {
  CONTROL_DATA_CAPACITY,
  SLOT_BYTES,
  SLOT_OFFSETS,
  checkBlockSize,
  decodeFreePage,
  decodeSlot,
  encodeFreePage,
  encodeHeader,
  entriesPerPage,
  firstData,
  type Header,
  type SlotState,
} from './format.js';
import { Lease, LeaseBuffers } from './lease.js';
import { MemoryEngine } from './memory-engine.js';
import { MmapEngine } from './mmap-engine.js';
import { nativeBinding, type FmapNative } from './native-binding.js';
import { PreadEngine } from './pread-engine.js';

/** Largest lease or allocateBlocks run: Node 20 caps a buffer at 4 GiB, we stay well below. */
export const MAX_RUN_BYTES = 1 << 30;

export interface BlockFileOptions {
  /** `pread` (default, pure TypeScript) or `mmap` (needs @blk/fmap-native; E_NO_MMAP otherwise). */
  readonly engine?: 'pread' | 'mmap';
  /** Write-back cache of the pread engine (default 32 MiB). */
  readonly cacheBytes?: number;
  /** Address space the mmap engine reserves so growth never moves the mapping (default 1 GiB). */
  readonly mapReserve?: number;
  /** Take `${path}.lock` so a second process (or a second open here) is refused (default true). */
  readonly lock?: boolean;
  /** @internal fault injection for tests */
  readonly io?: FileIo;
  /** @internal a stand-in for @blk/fmap-native under the mmap engine (the power-loss model in the tests) */
  readonly native?: FmapNative;
}

export interface CreateOptions extends BlockFileOptions {
  /** A positive multiple of 4096 (fs2's rule), at most 64 MiB. */
  readonly blockSize: number;
}

/** A snapshot of the allocator, for checks and tests. */
export interface BlockFileStats {
  readonly engine: EngineKind;
  readonly blockSize: number;
  /** Bytes up to the end of the last block ever handed out (`size()`). */
  readonly size: number;
  /** Offset of the first user block. */
  readonly firstBlock: number;
  /** Free blocks, sorted (freed since the last flush included). */
  readonly free: readonly number[];
  /** Blocks holding the committed free list (or a failed commit's): neither free nor allocated. */
  readonly freeListPages: readonly number[];
  /** Number of commits (flushes that changed the allocator) this file has seen. */
  readonly seq: number;
  readonly liveLeases: number;
}

interface FileParts {
  readonly path: string;
  readonly fd: number;
  readonly io: FileIo;
  readonly unlock: () => void;
}

function checkOptions(options: unknown): BlockFileOptions {
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

function checkPath(path: unknown): asserts path is string {
  if (typeof path !== 'string' || path.length === 0) throw new FmapError('E_ARGUMENT', 'path must be a non-empty string');
}

function makeEngine(options: BlockFileOptions, fd: number, io: FileIo, blockSize: number): Engine {
  if (options.engine === 'mmap') {
    const native = options.native ?? nativeBinding();
    if (!native) throw new FmapError('E_NO_MMAP', 'the mmap engine needs @blk/fmap-native, which is not built here');
    return new MmapEngine(native, fd, io, blockSize, options.mapReserve ?? 1 << 30);
  }
  return new PreadEngine(fd, io, blockSize, options.cacheBytes ?? 32 << 20);
}

function fsyncDirectory(path: string): void {
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

/** Chooses the newest valid header slot, or throws the most telling typed error. */
function chooseHeader(states: readonly SlotState[], path: string): Header {
  let best: Header | undefined;
  for (const state of states) {
    if (state.kind === 'valid' && (!best || state.header.seq > best.seq)) best = state.header;
  }
  if (best) return best;
  const version = states.find((s) => s.kind === 'version');
  if (version?.kind === 'version') throw new FmapError('E_VERSION', `${path}: format version ${version.version} is not supported`);
  const corrupt = states.find((s) => s.kind === 'corrupt');
  if (corrupt?.kind === 'corrupt') throw new FmapError('E_CORRUPT', `${path}: ${corrupt.reason}`);
  if (states.some((s) => s.kind === 'checksum')) throw new FmapError('E_CHECKSUM', `${path}: both header copies fail their checksum`);
  throw new FmapError('E_BAD_MAGIC', `${path} is not a BlockFile`);
}

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
  #closed = false;
  #highWater: number;
  /**
   * Blocks at or past this were not allocated at the last commit (nor at a failed commit whose
   * header may have landed).
   */
  #committedHighWater: number;
  /** Free blocks that may be handed out now, used as a stack (LIFO like fs2). */
  #free: number[];
  /** Free blocks, including those freed since the last commit. */
  readonly #freeSet: Set<number>;
  /** Blocks allocated at the last commit and freed since: reusable only after the next commit. */
  #pending: number[] = [];
  /**
   * Blocks free at the last commit and handed out since (so freeing them again is immediate);
   * emptied by a commit, and by a failed one whose header may have landed.
   */
  readonly #reused = new Set<number>();
  /** Pages holding the committed free list. */
  #metaPages: number[];
  /**
   * Pages of a commit whose header write failed part way: that header may yet be on disk, so
   * they stay untouched until a later commit replaces it, and are free from then on.
   */
  #limbo: number[] = [];
  #metaSet: Set<number>;
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
    this.#highWater = header.highWater;
    // Anonymous files never commit, so every block counts as new since the last commit.
    this.#committedHighWater = file ? header.highWater : 0;
    this.#free = free;
    this.#freeSet = new Set(free);
    this.#metaPages = metaPages;
    this.#metaSet = new Set(metaPages);
    this.#control = header.control;
    this.#seq = header.seq;
  }

  /** Creates (or truncates, as fs2 does) `path` as an empty BlockFile. */
  static create(path: string, options: CreateOptions): BlockFile {
    checkPath(path);
    const checked = checkOptions(options);
    checkBlockSize(options.blockSize);
    const blockSize = options.blockSize;
    const io = checked.io ?? nodeFileIo;
    const unlock = checked.lock === false ? () => undefined : acquireLock(path);
    let fd: number | undefined;
    let engine: Engine | undefined;
    try {
      try {
        fd = fs.openSync(path, 'w+');
      } catch (error) {
        throw ioError(error, `cannot create ${path}`);
      }
      const header: Header = {
        blockSize,
        seq: 0,
        freeHead: 0,
        freeLength: 0,
        freePages: 0,
        highWater: firstData(blockSize),
        control: new Uint8Array(0),
      };
      const openFd = fd;
      try {
        io.truncate(openFd, header.highWater);
        io.write(openFd, encodeHeader(header), SLOT_OFFSETS[0]);
        io.datasync(openFd);
      } catch (error) {
        throw ioError(error, `cannot write the header of ${path}`);
      }
      fsyncDirectory(path);
      engine = makeEngine(checked, openFd, io, blockSize);
      return new BlockFile(path, engine, { path, fd: openFd, io, unlock }, header, [], []);
    } catch (error) {
      engine?.close();
      if (fd !== undefined) fs.closeSync(fd);
      unlock();
      throw error;
    }
  }

  /** Opens an existing BlockFile; never creates one. */
  static open(path: string, options?: BlockFileOptions): BlockFile {
    checkPath(path);
    const checked = checkOptions(options);
    const io = checked.io ?? nodeFileIo;
    if (!fs.existsSync(path)) throw new FmapError('E_NOENT', `${path} does not exist`);
    const unlock = checked.lock === false ? () => undefined : acquireLock(path);
    let fd: number | undefined;
    let engine: Engine | undefined;
    try {
      try {
        fd = fs.openSync(path, 'r+');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new FmapError('E_NOENT', `${path} does not exist`);
        throw ioError(error, `cannot open ${path}`);
      }
      const openFd = fd;
      const { header, fileSize } = BlockFile.#readHeader(openFd, io, path);
      engine = makeEngine(checked, openFd, io, header.blockSize);
      // Blocks past the committed high-water mark were never committed: drop them.
      if (fileSize > header.highWater || engine.capacity() !== header.highWater) engine.truncate(header.highWater);
      const { free, pages } = BlockFile.#readFreeList(engine, header, path);
      return new BlockFile(path, engine, { path, fd: openFd, io, unlock }, header, free, pages);
    } catch (error) {
      engine?.close();
      if (fd !== undefined) fs.closeSync(fd);
      unlock();
      throw error;
    }
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

  static #readHeader(fd: number, io: FileIo, path: string): { header: Header; fileSize: number } {
    let fileSize: number;
    const slots = new Uint8Array(2 * SLOT_BYTES);
    let got: number;
    try {
      fileSize = io.size(fd);
      got = io.read(fd, slots, 0);
    } catch (error) {
      throw ioError(error, `cannot read ${path}`);
    }
    if (fileSize === 0) throw new FmapError('E_SHORT', `${path} is empty`);
    if (got < 64) throw new FmapError('E_SHORT', `${path} is only ${fileSize} bytes: too short for a BlockFile header`);
    const states = ([0, 1] as const).map((slot) =>
      decodeSlot(slots.subarray(SLOT_OFFSETS[slot], Math.min(got, SLOT_OFFSETS[slot] + SLOT_BYTES)), slot),
    );
    const header = chooseHeader(states, path);
    if (fileSize < header.highWater) {
      throw new FmapError('E_SHORT', `${path} is ${fileSize} bytes but its header says ${header.highWater}: the file was truncated`);
    }
    return { header, fileSize };
  }

  static #readFreeList(engine: Engine, header: Header, path: string): { free: number[]; pages: number[] } {
    const { blockSize, highWater } = header;
    const first = firstData(blockSize);
    const isBlock = (offset: number) => offset % blockSize === 0 && offset >= first && offset < highWater;
    const pages: number[] = [];
    const free: number[] = [];
    const seen = new Set<number>();
    const page = new Uint8Array(blockSize);
    let at = header.freeHead;
    const maxPages = Math.ceil(header.freeLength / entriesPerPage(blockSize)) + 1;
    for (let i = 0; i < header.freePages; i++) {
      if (i >= maxPages || !isBlock(at) || seen.has(at)) {
        throw new FmapError('E_CORRUPT', `${path}: free-list page ${i} at ${at} is out of place`);
      }
      seen.add(at);
      pages.push(at);
      engine.read(at, page);
      const decoded = decodeFreePage(page, header.seq, at);
      for (const entry of decoded.entries) free.push(entry);
      at = decoded.next;
    }
    if (at !== 0 || free.length !== header.freeLength) {
      throw new FmapError('E_CORRUPT', `${path}: the free list holds ${free.length} blocks, the header says ${header.freeLength}`);
    }
    for (const entry of free) {
      if (!isBlock(entry) || seen.has(entry)) throw new FmapError('E_CORRUPT', `${path}: free-list entry ${entry} is invalid or repeated`);
      seen.add(entry);
    }
    return { free, pages };
  }

  #open(): void {
    if (this.#closed) throw new FmapError('E_CLOSED', `BlockFile ${this.path ?? '(anonymous)'} is closed`);
  }

  /** Validates a block offset inside the allocated area. */
  #checkOffset(offset: unknown): asserts offset is number {
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset)) {
      throw new FmapError('E_ARGUMENT', `offset must be a safe integer, got ${String(offset)}`);
    }
    if (offset % this.blockSize !== 0) throw new FmapError('E_ALIGN', `offset ${offset} is not a multiple of ${this.blockSize}`);
    if (offset < this.#first) throw new FmapError('E_RANGE', `offset ${offset} is in the header (blocks start at ${this.#first})`);
    if (offset >= this.#highWater) throw new FmapError('E_RANGE', `offset ${offset} is past the end (${this.#highWater})`);
  }

  #checkCount(blocks: unknown): asserts blocks is number {
    if (typeof blocks !== 'number' || !Number.isSafeInteger(blocks) || blocks < 1) {
      throw new FmapError('E_ARGUMENT', `block count must be a positive safe integer, got ${String(blocks)}`);
    }
    if (blocks * this.blockSize > MAX_RUN_BYTES) {
      throw new FmapError('E_RANGE', `${blocks} blocks is more than ${MAX_RUN_BYTES} bytes at once`);
    }
  }

  #isFresh(offset: number): boolean {
    return offset >= this.#committedHighWater || this.#reused.has(offset);
  }

  #grow(blocks: number): number {
    const start = this.#highWater;
    this.#engine.ensureCapacity(start + blocks * this.blockSize, this.#liveLeases === 0);
    this.#highWater = start + blocks * this.blockSize;
    return start;
  }

  /** Hands out one zeroed block: the most recently freed one, else a new one at the end. */
  allocate(): number {
    this.#open();
    let offset: number;
    const reuse = this.#free.at(-1);
    if (reuse !== undefined) {
      this.#engine.zero(reuse, this.blockSize);
      this.#free.pop();
      this.#freeSet.delete(reuse);
      if (reuse < this.#committedHighWater) this.#reused.add(reuse);
      offset = reuse;
    } else {
      offset = this.#grow(1);
    }
    this.#metaDirty = true;
    return offset;
  }

  /** Hands out `n` contiguous zeroed blocks, always at the end of the file (as fs2). */
  allocateBlocks(n: number): number {
    this.#open();
    this.#checkCount(n);
    const offset = this.#grow(n);
    this.#metaDirty = true;
    return offset;
  }

  /** Gives one block back. Double frees, header blocks and leased blocks are refused. */
  free(offset: number): void {
    this.#open();
    this.#checkOffset(offset);
    if (this.#freeSet.has(offset)) throw new FmapError('E_DOUBLE_FREE', `block ${offset} is already free`);
    if (this.#metaSet.has(offset)) throw new FmapError('E_DOUBLE_FREE', `block ${offset} is free (it holds the free list)`);
    if (this.#leased.has(offset)) throw new FmapError('E_OUTSTANDING', `block ${offset} is leased`);
    this.#freeSet.add(offset);
    if (this.#isFresh(offset)) {
      this.#reused.delete(offset);
      this.#free.push(offset);
    } else {
      this.#pending.push(offset);
    }
    this.#metaDirty = true;
  }

  /**
   * Leases `blocks` allocated blocks from `offset`. Release it (or `using`) to write changes back;
   * a range overlapping a live lease is refused (E_OVERLAP) so two views can never disagree.
   */
  get(offset: number, blocks = 1): Lease {
    this.#open();
    this.#checkOffset(offset);
    this.#checkCount(blocks);
    const end = offset + blocks * this.blockSize;
    if (end > this.#highWater) throw new FmapError('E_RANGE', `blocks [${offset}, ${end}) run past the end (${this.#highWater})`);
    for (let at = offset; at < end; at += this.blockSize) {
      if (this.#freeSet.has(at)) throw new FmapError('E_NOT_ALLOCATED', `block ${at} is free`);
      if (this.#metaSet.has(at)) throw new FmapError('E_NOT_ALLOCATED', `block ${at} holds the free list`);
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
    if (!(bytes instanceof Uint8Array)) throw new FmapError('E_ARGUMENT', 'bytes must be a Uint8Array');
    if (typeof within !== 'number' || !Number.isSafeInteger(within) || within < 0) {
      throw new FmapError('E_ARGUMENT', `within must be a non-negative safe integer, got ${String(within)}`);
    }
    if (within + bytes.length > this.blockSize) {
      throw new FmapError('E_RANGE', `bytes [${within}, ${within + bytes.length}) run past the end of the ${this.blockSize}-byte block`);
    }
    if (this.#freeSet.has(offset) || this.#metaSet.has(offset)) throw new FmapError('E_NOT_ALLOCATED', `block ${offset} is free`);
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
    const pages: number[] = [];
    let total = this.#free.length + this.#pending.length + this.#metaPages.length + this.#limbo.length;
    let headerStarted = false;
    try {
      while (pages.length < Math.ceil(total / perPage)) {
        const reuse = this.#free.pop();
        if (reuse !== undefined) {
          this.#freeSet.delete(reuse);
          total--;
          pages.push(reuse);
        } else {
          pages.push(this.#grow(1));
        }
      }
      const entries = [...this.#free, ...this.#pending, ...this.#metaPages, ...this.#limbo];
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
        highWater: this.#highWater,
        control: this.#control,
      };
      headerStarted = true;
      this.#engine.writeDurable(SLOT_OFFSETS[seq % 2]!, encodeHeader(header));
      for (const offset of this.#metaPages) this.#freeSet.add(offset);
      for (const offset of this.#limbo) this.#freeSet.add(offset);
      this.#limbo = [];
      this.#free = entries;
      this.#pending = [];
      this.#reused.clear();
      this.#metaPages = pages;
      this.#metaSet = new Set(pages);
      this.#seq = seq;
      this.#committedHighWater = this.#highWater;
      this.#metaDirty = false;
    } catch (error) {
      // Nothing was committed: the pages taken for the free list are free again. Once the header
      // write has begun it may yet reach the disk, so those pages wait in limbo for the next commit,
      // and every block this commit holds as allocated counts as committed: freeing one must wait
      // for the next commit too, or a recovery from this header would find it reused.
      if (headerStarted) {
        this.#committedHighWater = this.#highWater;
        this.#reused.clear();
      }
      for (const offset of pages) {
        if (headerStarted) {
          this.#limbo.push(offset);
          this.#metaSet.add(offset);
        } else {
          this.#free.push(offset);
          this.#freeSet.add(offset);
        }
      }
      throw error;
    }
  }

  /** Bytes up to the end of the last block (header included), as fs2's Size. */
  size(): number {
    this.#open();
    return this.#highWater;
  }

  stats(): BlockFileStats {
    this.#open();
    return {
      engine: this.#engine.kind,
      blockSize: this.blockSize,
      size: this.#highWater,
      firstBlock: this.#first,
      free: [...this.#freeSet].sort((a, b) => a - b),
      freeListPages: [...this.#metaPages, ...this.#limbo].sort((a, b) => a - b),
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
        if (this.#engine.capacity() > this.#highWater) this.#engine.truncate(this.#highWater);
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
