import {
  BlockError,
  checkRange,
  checkRequest,
  checkResize,
  settled,
  supports,
  type BlockDevice,
  type BlockInfo,
  type Supports,
} from '@blk/core';
import { opfsError, type SyncAccessHandle } from './opfs-api.js';

const OPFS_SUPPORTS = supports({
  write: true,
  flush: true,
  writeZeroes: true,
  resize: true,
  persistent: true,
  concurrent: true,
});

/** writeZeroes writes this many zero bytes per call (OPFS has no way to punch a hole). */
const ZERO_CHUNK = 1 << 20;

/**
 * A block device over one OPFS file, through its synchronous access handle. Every request runs
 * to completion inside the call (the handle is synchronous), so requests never interleave: each
 * sector is always old or new, and a flush covers every write that resolved before it.
 */
export class OpfsDevice implements BlockDevice {
  readonly supports: Supports = OPFS_SUPPORTS;
  readonly #name: string;
  readonly #handle: SyncAccessHandle;
  readonly #sectorSize: number;
  #sizeSectors: number;
  readonly #readOnly: boolean;
  #closed = false;
  #zeroes: Uint8Array | undefined;

  /** Use openOpfsDevice(): it opens the handle and checks the geometry. */
  constructor(name: string, handle: SyncAccessHandle, sectorSize: number, sizeSectors: number, readOnly: boolean) {
    this.#name = name;
    this.#readOnly = readOnly;
    this.#handle = handle;
    this.#sectorSize = sectorSize;
    this.#sizeSectors = sizeSectors;
  }

  #info(): BlockInfo {
    if (this.#closed) throw BlockError.disconnected(`OPFS device ${this.#name}`);
    return { readWrite: true, sectorSize: this.#sectorSize, sizeSectors: this.#sizeSectors };
  }

  /** Runs one synchronous handle call, turning what it throws into a BlockError. */
  #call<T>(what: string, work: () => T): T {
    try {
      return work();
    } catch (error) {
      throw opfsError(error, `${what} on OPFS file ${this.#name}`);
    }
  }

  getInfo(): Promise<BlockInfo> {
    return settled(() => this.#info());
  }

  read(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    return settled(() => {
      const info = this.#info();
      checkRequest(info, sector, buffers);
      let at = sector * info.sectorSize;
      for (const buffer of buffers) {
        const got = this.#call('read', () => this.#handle.read(buffer, { at }));
        if (got !== buffer.byteLength)
          throw BlockError.io(`read on OPFS file ${this.#name}: ${got} of ${buffer.byteLength} bytes at ${at}`);
        at += buffer.byteLength;
      }
    });
  }

  write(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    return settled(() => {
      const info = this.#info();
      checkRequest(info, sector, buffers);
      let at = sector * info.sectorSize;
      for (const buffer of buffers) {
        this.#writeAll(buffer, at);
        at += buffer.byteLength;
      }
    });
  }

  #writeAll(buffer: Uint8Array, at: number): void {
    const put = this.#call('write', () => this.#handle.write(buffer, { at }));
    if (put !== buffer.byteLength) throw BlockError.io(`write on OPFS file ${this.#name}: ${put} of ${buffer.byteLength} bytes at ${at}`);
  }

  writeZeroes(sector: number, count: number): Promise<void> {
    return settled(() => {
      const info = this.#info();
      checkRange(info, sector, count);
      const zeroes = (this.#zeroes ??= new Uint8Array(ZERO_CHUNK));
      const end = (sector + count) * info.sectorSize;
      for (let at = sector * info.sectorSize; at < end; at += ZERO_CHUNK) {
        this.#writeAll(zeroes.subarray(0, Math.min(ZERO_CHUNK, end - at)), at);
      }
    });
  }

  flush(): Promise<void> {
    return settled(() => {
      this.#info();
      // A read-only handle has nothing to write, and its flush() throws.
      if (!this.#readOnly) this.#call('flush', () => this.#handle.flush());
    });
  }

  /** Shrinking drops the data past the new end; growing reads zero in the new range. */
  resize(sizeSectors: number): Promise<void> {
    return settled(() => {
      const info = this.#info();
      checkResize(sizeSectors);
      const bytes = sizeSectors * info.sectorSize;
      if (!Number.isSafeInteger(bytes))
        throw new BlockError('INVALID_ARGUMENT', `${sizeSectors} sectors of ${info.sectorSize} bytes is past the largest file size`);
      this.#call('resize', () => this.#handle.truncate(bytes));
      this.#sizeSectors = sizeSectors;
    });
  }

  /** Closes the handle (which writes what is buffered); the file stays, and can be opened again. */
  disconnect(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    try {
      this.#handle.close();
    } catch {
      // Closing a handle the browser already closed: nothing is left to release.
    }
    return Promise.resolve();
  }
}
