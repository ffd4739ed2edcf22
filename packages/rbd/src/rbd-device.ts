import {
  BlockError,
  checkRange,
  checkRequest,
  checkResize,
  checkSeek,
  dropUnsupportedMethods,
  supports,
  type BlockDevice,
  type BlockInfo,
  type Supports,
} from '@blk/core';
import type { NativeImage, RbdNative } from './native-binding.js';
import { rbdError, resultError } from './rbd-errors.js';

const enum Op {
  Read = 0,
  Write = 1,
  Flush = 2,
  Discard = 3,
  WriteZeroes = 4,
}

const OP_NAMES = ['read', 'write', 'flush', 'discard', 'writeZeroes'] as const;

/** Buffers per readv/writev (librbd refuses more than IOV_MAX); longer lists go in several requests. */
const MAX_IOV = 1024;
/** Completions delivered per call into JavaScript. */
const COMPLETION_PAIRS = 256;
/** Requests the addon keeps in flight per image; past it they wait here, up to {@link MAX_WAITING}. */
export const MAX_IN_FLIGHT = 4096;
/** Requests waiting for a free slot; past it a request rejects with `IO`. */
export const MAX_WAITING = 65_536;
/** Extents fetched per `rbd_diff_iterate2` call while seeking. */
const SEEK_BATCH = 256;

interface Pending {
  resolve(): void;
  reject(error: BlockError): void;
  readonly op: Op;
  /** Keeps the buffers alive until librbd is done with them. */
  readonly buffers: readonly Uint8Array[] | null;
}

interface Waiting {
  readonly op: Op;
  readonly buffers: readonly Uint8Array[] | null;
  readonly offset: number;
  readonly length: number;
  readonly pending: Pending;
}

/** What an RbdDevice is made from; see `connect`. */
export interface RbdDeviceParts {
  readonly native: RbdNative;
  readonly pool: string;
  readonly namespace: string | undefined;
  readonly image: string;
  readonly snapshot: string | undefined;
  readonly readOnly: boolean;
  readonly sectorSize: number;
  /** Gives the cluster connection back (shared; the last user shuts it down). */
  readonly release: () => Promise<void>;
}

/**
 * A BlockDevice on an open RBD image. I/O goes through librbd's asynchronous API: every request
 * is one `rbd_aio_*` call and its completion comes back in a batch; no thread waits per request.
 * Made by `connect`.
 */
export class RbdDevice implements BlockDevice {
  readonly supports: Supports;
  /** `pool/[namespace/]image[@snapshot]`. */
  readonly name: string;
  readonly #native: RbdNative;
  readonly #parts: RbdDeviceParts;
  #image: NativeImage | undefined;
  #info: BlockInfo;
  #sizeBytes: number;
  readonly #completions = new Float64Array(2 * COMPLETION_PAIRS);
  readonly #pending = new Map<number, Pending>();
  readonly #waiting: Waiting[] = [];
  #waitingHead = 0;
  #nextId = 1;
  #closed = false;
  #disconnecting: Promise<void> | undefined;
  /** Blocking jobs (size, resize, diff, snapshot) running on the thread pool. */
  readonly #jobs = new Set<Promise<unknown>>();

  /** @internal use `connect` */
  constructor(parts: RbdDeviceParts) {
    this.#native = parts.native;
    this.#parts = parts;
    this.name = `${parts.pool}/${parts.namespace ? `${parts.namespace}/` : ''}${parts.image}${parts.snapshot ? `@${parts.snapshot}` : ''}`;
    this.#sizeBytes = 0;
    this.#info = Object.freeze({ readWrite: !parts.readOnly, sectorSize: parts.sectorSize, sizeSectors: 0 });
    const writable = !parts.readOnly;
    this.supports = supports({
      write: writable,
      flush: true,
      discard: writable,
      // RBD discards whole 64 KiB units (rbd_discard_granularity_bytes) and skips the rest, so a
      // discarded sector does not always read zero; writeZeroes does.
      discardZeroes: false,
      writeZeroes: writable,
      resize: writable,
      seek: true,
      sparse: true,
      persistent: true,
      concurrent: true,
    });
    dropUnsupportedMethods(this);
  }

  /** @internal the completion callback handed to the addon at open */
  readonly onComplete = (count: number): void => {
    const completions = this.#completions;
    for (let i = 0; i < count; i++) {
      const id = completions[2 * i]!;
      const result = completions[2 * i + 1]!;
      const pending = this.#pending.get(id);
      if (!pending) continue;
      this.#pending.delete(id);
      if (result < 0) pending.reject(resultError(result, `rbd ${OP_NAMES[pending.op]} on ${this.name}`));
      else pending.resolve();
    }
    this.#drainWaiting();
  };

  /** @internal */
  get completionBuffer(): Float64Array {
    return this.#completions;
  }

  /** @internal called once by `connect` with what `open` returned */
  attach(image: NativeImage, sizeBytes: number): void {
    this.#image = image;
    this.#setSize(sizeBytes);
  }

  #setSize(sizeBytes: number): void {
    this.#sizeBytes = sizeBytes;
    this.#info = Object.freeze({ ...this.#info, sizeSectors: Math.floor(sizeBytes / this.#info.sectorSize) });
  }

  #check(): NativeImage {
    if (this.#closed || !this.#image) throw BlockError.disconnected(`rbd image ${this.name}`);
    return this.#image;
  }

  /** Submits one request, or queues it when the addon has MAX_IN_FLIGHT outstanding. */
  #submit(op: Op, buffers: readonly Uint8Array[] | null, offset: number, length: number): Promise<void> {
    const image = this.#check();
    return new Promise<void>((resolve, reject) => {
      const pending: Pending = { resolve, reject, op, buffers };
      if (this.#waiting.length - this.#waitingHead > 0) {
        this.#enqueue({ op, buffers, offset, length, pending });
        return;
      }
      this.#send(image, op, buffers, offset, length, pending);
    });
  }

  #enqueue(waiting: Waiting): void {
    if (this.#waiting.length - this.#waitingHead >= MAX_WAITING) {
      waiting.pending.reject(BlockError.io(`rbd ${this.name}: more than ${MAX_IN_FLIGHT + MAX_WAITING} requests outstanding`));
      return;
    }
    this.#waiting.push(waiting);
  }

  #send(image: NativeImage, op: Op, buffers: readonly Uint8Array[] | null, offset: number, length: number, pending: Pending): void {
    const id = this.#nextId++;
    let accepted: boolean;
    try {
      accepted = this.#native.submit(image, op, buffers, offset, length, id);
    } catch (error) {
      pending.reject(rbdError(error, `rbd ${OP_NAMES[op]} on ${this.name}`));
      return;
    }
    if (accepted) this.#pending.set(id, pending);
    else this.#enqueue({ op, buffers, offset, length, pending });
  }

  #drainWaiting(): void {
    const image = this.#image;
    while (this.#waitingHead < this.#waiting.length && image && !this.#closed && this.#pending.size < MAX_IN_FLIGHT) {
      const next = this.#waiting[this.#waitingHead]!;
      this.#waiting[this.#waitingHead++] = undefined as unknown as Waiting;
      this.#send(image, next.op, next.buffers, next.offset, next.length, next.pending);
    }
    if (this.#waitingHead === this.#waiting.length) {
      this.#waiting.length = 0;
      this.#waitingHead = 0;
    }
  }

  /** Runs a blocking addon job, tracked so `disconnect` can wait for it before closing. */
  async #job<T>(what: string, run: (image: NativeImage) => Promise<T>): Promise<T> {
    const image = this.#check();
    const job = run(image);
    this.#jobs.add(job);
    try {
      return await job;
    } catch (error) {
      throw rbdError(error, `${what} on ${this.name}`);
    } finally {
      this.#jobs.delete(job);
    }
  }

  /** Splits a scatter list into runs librbd takes in one call; skips empty buffers. */
  #io(op: Op.Read | Op.Write, sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    let offset = sector * this.#info.sectorSize;
    const parts: Promise<void>[] = [];
    let run: Uint8Array[] = [];
    let runOffset = offset;
    let runBytes = 0;
    for (const buffer of buffers) {
      if (buffer.byteLength === 0) continue;
      run.push(buffer);
      runBytes += buffer.byteLength;
      offset += buffer.byteLength;
      if (run.length === MAX_IOV) {
        parts.push(this.#submit(op, run, runOffset, runBytes));
        run = [];
        runOffset = offset;
        runBytes = 0;
      }
    }
    if (run.length > 0) parts.push(this.#submit(op, run, runOffset, runBytes));
    if (parts.length === 1) return parts[0]!;
    return Promise.all(parts).then(() => undefined);
  }

  getInfo(): Promise<BlockInfo> {
    if (this.#closed) return Promise.reject(BlockError.disconnected(`rbd image ${this.name}`));
    return Promise.resolve(this.#info);
  }

  /** Asks the cluster for the image's size now (another client may have resized it) and updates `getInfo`. */
  async refresh(): Promise<BlockInfo> {
    const size = await this.#job('rbd size', (image) => this.#native.size(image));
    this.#setSize(size);
    return this.#info;
  }

  async read(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    this.#check();
    const bytes = checkRequest(this.#info, sector, buffers);
    if (bytes === 0) return;
    await this.#io(Op.Read, sector, buffers);
  }

  async write(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    this.#check();
    if (!this.#info.readWrite) throw BlockError.readOnly(`rbd ${this.name}`);
    const bytes = checkRequest(this.#info, sector, buffers);
    if (bytes === 0) return;
    await this.#io(Op.Write, sector, buffers);
  }

  async flush(): Promise<void> {
    this.#check();
    await this.#submit(Op.Flush, null, 0, 0);
  }

  async discard(sector: number, count: number): Promise<void> {
    this.#check();
    if (!this.#info.readWrite) throw BlockError.readOnly(`rbd ${this.name}`);
    checkRange(this.#info, sector, count);
    if (count === 0) return;
    const ss = this.#info.sectorSize;
    await this.#submit(Op.Discard, null, sector * ss, count * ss);
  }

  async writeZeroes(sector: number, count: number): Promise<void> {
    this.#check();
    if (!this.#info.readWrite) throw BlockError.readOnly(`rbd ${this.name}`);
    checkRange(this.#info, sector, count);
    if (count === 0) return;
    const ss = this.#info.sectorSize;
    await this.#submit(Op.WriteZeroes, null, sector * ss, count * ss);
  }

  async resize(sizeSectors: number): Promise<void> {
    this.#check();
    if (!this.#info.readWrite) throw BlockError.readOnly(`rbd ${this.name}`);
    checkResize(sizeSectors);
    const bytes = sizeSectors * this.#info.sectorSize;
    if (!Number.isSafeInteger(bytes)) throw new BlockError('OUT_OF_RANGE', `size ${sizeSectors} sectors is too large`);
    await this.#job('rbd resize', (image) => this.#native.resize(image, bytes));
    this.#setSize(bytes);
  }

  /** The allocated byte extents from `offset` on, at most `max` of them. */
  async #extents(offset: number, max: number): Promise<Float64Array> {
    const length = this.#sizeBytes - offset;
    if (length <= 0) return new Float64Array(0);
    return this.#job('rbd diff', (image) => this.#native.diff(image, offset, length, max));
  }

  async seekMapped(sector: number): Promise<number> {
    this.#check();
    checkSeek(this.#info, sector);
    const { sectorSize, sizeSectors } = this.#info;
    if (sector >= sizeSectors) return sizeSectors;
    const offset = sector * sectorSize;
    const extents = await this.#extents(offset, 1);
    if (extents.length === 0) return sizeSectors;
    return Math.min(sizeSectors, Math.floor(Math.max(extents[0]!, offset) / sectorSize));
  }

  async seekUnmapped(sector: number): Promise<number> {
    this.#check();
    checkSeek(this.#info, sector);
    const { sectorSize, sizeSectors } = this.#info;
    let position = sector * sectorSize;
    for (;;) {
      if (position >= sizeSectors * sectorSize) return sizeSectors;
      const extents = await this.#extents(position, SEEK_BATCH);
      for (let i = 0; i < extents.length; i += 2) {
        const start = extents[i]!;
        // a whole sector of hole before this extent
        if (start >= position + sectorSize) return position / sectorSize;
        position = Math.max(position, Math.ceil((start + extents[i + 1]!) / sectorSize) * sectorSize);
      }
      if (extents.length < 2 * SEEK_BATCH) return Math.min(sizeSectors, position / sectorSize);
    }
  }

  /** Takes snapshot `name` of the image now (flush first for what you need in it). */
  async snapshot(name: string): Promise<void> {
    this.#checkSnapshotName(name);
    if (this.#parts.snapshot !== undefined) throw BlockError.readOnly(`rbd snapshot ${this.name}`);
    await this.#job('rbd snapshot', (image) => this.#native.snapshot(image, 0, name));
  }

  /** Removes snapshot `name` of the image (unprotecting it first). */
  async removeSnapshot(name: string): Promise<void> {
    this.#checkSnapshotName(name);
    if (this.#parts.snapshot !== undefined) throw BlockError.readOnly(`rbd snapshot ${this.name}`);
    await this.#job('rbd remove snapshot', (image) => this.#native.snapshot(image, 1, name));
  }

  #checkSnapshotName(name: unknown): void {
    this.#check();
    if (typeof name !== 'string' || name.length === 0 || name.length > 1024 || /[@/\0]/.test(name)) {
      throw new BlockError('INVALID_ARGUMENT', `snapshot name must be a non-empty string without '@', '/' or NUL`);
    }
  }

  /**
   * Closes the image and gives back the cluster connection. Requests already in flight finish
   * first (each settles with its own result: with a cluster that does not answer, an `IO` error
   * after the timeout); requests still waiting for a slot reject DISCONNECTED. Never rejects.
   */
  disconnect(): Promise<void> {
    this.#disconnecting ??= this.#close();
    return this.#disconnecting;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    for (let i = this.#waitingHead; i < this.#waiting.length; i++)
      this.#waiting[i]!.pending.reject(BlockError.disconnected(`rbd image ${this.name}`));
    this.#waiting.length = 0;
    this.#waitingHead = 0;
    const image = this.#image;
    await Promise.allSettled([...this.#jobs]);
    if (image) {
      try {
        await this.#native.close(image);
      } catch {
        // rbd_close failed (it still releases the handle); nothing more to do
      }
    }
    // Anything librbd did not complete before close returned is over for good.
    for (const pending of this.#pending.values()) pending.reject(BlockError.disconnected(`rbd image ${this.name}`));
    this.#pending.clear();
    await this.#parts.release();
  }
}
