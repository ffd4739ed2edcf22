import {
  BlockError,
  checkRange,
  checkRequest,
  checkResize,
  checkSeek,
  deviceBytes,
  settled,
  supports,
  type BlockDevice,
  type BlockInfo,
  type Supports,
} from '@blk/core';
import { RamdiskStore, type RamdiskOptions } from './ramdisk-store.js';

const RAMDISK_SUPPORTS = supports({
  write: true,
  flush: true,
  discard: true,
  discardZeroes: true,
  writeZeroes: true,
  resize: true,
  seek: true,
  sparse: true,
  concurrent: true,
});

/**
 * A sparse in-memory block device. Unwritten memory costs nothing; writes are copied in, reads
 * copied out, so callers' buffers are never aliased. Handles made by `connect(name)` share their
 * store; `disconnect` closes only the handle and the data stays.
 */
export class Ramdisk implements BlockDevice {
  readonly supports: Supports = RAMDISK_SUPPORTS;
  readonly #store: RamdiskStore;
  #closed = false;

  constructor(options: RamdiskOptions | RamdiskStore = {}) {
    this.#store = options instanceof RamdiskStore ? options : new RamdiskStore(options);
  }

  /** Bytes of page memory this device's store holds. */
  get allocatedBytes(): number {
    return this.#store.allocatedBytes;
  }

  /** The live geometry (the store itself), after the disconnected check. */
  #info(): BlockInfo {
    if (this.#closed) throw BlockError.disconnected('ramdisk');
    return this.#store;
  }

  getInfo(): Promise<BlockInfo> {
    return settled(() => {
      const { readWrite, sectorSize, sizeSectors } = this.#info();
      return { readWrite, sectorSize, sizeSectors };
    });
  }

  read(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    return settled(() => {
      checkRequest(this.#info(), sector, buffers);
      this.#store.read(sector * this.#store.sectorSize, buffers);
    });
  }

  write(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    return settled(() => {
      checkRequest(this.#info(), sector, buffers);
      this.#store.write(sector * this.#store.sectorSize, buffers);
    });
  }

  flush(): Promise<void> {
    return settled(() => {
      this.#info();
    });
  }

  discard(sector: number, count: number): Promise<void> {
    return this.writeZeroes(sector, count);
  }

  writeZeroes(sector: number, count: number): Promise<void> {
    return settled(() => {
      checkRange(this.#info(), sector, count);
      const { sectorSize } = this.#store;
      this.#store.zero(sector * sectorSize, count * sectorSize);
    });
  }

  resize(sizeSectors: number): Promise<void> {
    return settled(() => {
      this.#info();
      checkResize(sizeSectors);
      deviceBytes({ readWrite: true, sectorSize: this.#store.sectorSize, sizeSectors });
      this.#store.resize(sizeSectors);
    });
  }

  seekMapped(sector: number): Promise<number> {
    return settled(() => {
      checkSeek(this.#info(), sector);
      return this.#store.seekMapped(sector);
    });
  }

  seekUnmapped(sector: number): Promise<number> {
    return settled(() => {
      checkSeek(this.#info(), sector);
      return this.#store.seekUnmapped(sector);
    });
  }

  disconnect(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}
