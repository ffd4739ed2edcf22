import { BlockError, checkRequest, settled, supports, type BlockDevice, type BlockInfo, type Supports } from '@blk/core';
import type { ChunkStore } from './chunk-store.js';

const SIMPLE_MEM_SUPPORTS = supports({ write: true, concurrent: true });

/** A handle on a named dense memory device; see `connect`. */
export class SimpleMemDevice implements BlockDevice {
  readonly supports: Supports = SIMPLE_MEM_SUPPORTS;
  readonly #store: ChunkStore;
  #closed = false;

  /** @internal Made by `connect`. */
  constructor(
    readonly name: string,
    store: ChunkStore,
  ) {
    this.#store = store;
  }

  /** Bytes of chunk memory the device holds (a multiple of 16 MiB). */
  get allocatedBytes(): number {
    return this.#store.allocatedBytes;
  }

  #info(): BlockInfo {
    if (this.#closed) throw BlockError.disconnected(`memory device '${this.name}'`);
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

  disconnect(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}
