import { BlockError, checkRequest, settled, supports, type BlockDevice, type BlockInfo, type Supports } from '@blk/core';

export interface __CLASS__Options {
  readonly sizeSectors?: number;
  readonly sectorSize?: number;
}

/** Placeholder storage (a dense array) to be replaced by the real backend. */
export class __CLASS__ implements BlockDevice {
  readonly supports: Supports = supports({ write: true, concurrent: true });
  readonly #info: BlockInfo;
  readonly #bytes: Uint8Array;
  #closed = false;

  constructor(options: __CLASS__Options = {}) {
    this.#info = { readWrite: true, sectorSize: options.sectorSize ?? 512, sizeSectors: options.sizeSectors ?? 2048 };
    this.#bytes = new Uint8Array(this.#info.sectorSize * this.#info.sizeSectors);
  }

  #open(): void {
    if (this.#closed) throw BlockError.disconnected();
  }

  getInfo(): Promise<BlockInfo> {
    return settled(() => {
      this.#open();
      return this.#info;
    });
  }

  // settled() turns what the synchronous body throws into a rejection, as the contract wants.
  read(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    return settled(() => {
      this.#open();
      checkRequest(this.#info, sector, buffers);
      let at = sector * this.#info.sectorSize;
      for (const buffer of buffers) {
        buffer.set(this.#bytes.subarray(at, at + buffer.byteLength));
        at += buffer.byteLength;
      }
    });
  }

  write(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    return settled(() => {
      this.#open();
      checkRequest(this.#info, sector, buffers);
      let at = sector * this.#info.sectorSize;
      for (const buffer of buffers) {
        this.#bytes.set(buffer, at);
        at += buffer.byteLength;
      }
    });
  }

  disconnect(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}
