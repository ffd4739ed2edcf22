import {
  BlockError,
  checkRange,
  checkRequest,
  checkSeek,
  supports,
  type BlockDevice,
  type BlockInfo,
  type Supports,
} from '../../src/index.js';

export interface ArrayDeviceOptions {
  sectorSize?: number;
  sizeSectors?: number;
  readOnly?: boolean;
  seek?: boolean;
  writeZeroes?: boolean;
  discardZeroes?: boolean;
}

/**
 * A deliberately plain device for core's own tests: one byte array plus a per-sector "mapped"
 * flag, and counters of what the combinators asked for.
 */
export class ArrayDevice implements BlockDevice {
  readonly supports: Supports;
  readonly bytes: Uint8Array;
  readonly mapped: Uint8Array;
  readonly info: BlockInfo;
  readonly calls = { read: 0, write: 0, readBytes: 0, writeZeroes: 0, discard: 0 };
  closed = false;

  constructor(options: ArrayDeviceOptions = {}) {
    const sectorSize = options.sectorSize ?? 512;
    const sizeSectors = options.sizeSectors ?? 64;
    this.info = { readWrite: !options.readOnly, sectorSize, sizeSectors };
    this.bytes = new Uint8Array(sectorSize * sizeSectors);
    this.mapped = new Uint8Array(sizeSectors);
    this.supports = supports({
      write: !options.readOnly,
      seek: options.seek ?? false,
      writeZeroes: options.writeZeroes ?? false,
      discard: options.discardZeroes ?? false,
      discardZeroes: options.discardZeroes ?? false,
    });
    // Optional methods are absent when their flag is off (own properties shadow the prototype).
    const absent = (name: string) => Object.defineProperty(this, name, { value: undefined });
    if (!this.supports.seek) ['seekMapped', 'seekUnmapped'].forEach(absent);
    if (!this.supports.writeZeroes) absent('writeZeroes');
    if (!this.supports.discard) absent('discard');
  }

  /** Fills sectors with a pattern and marks them mapped (test setup, bypasses counters). */
  fill(sector: number, count: number, seed: number): void {
    const { sectorSize } = this.info;
    for (let i = sector * sectorSize; i < (sector + count) * sectorSize; i++) this.bytes[i] = (i * 31 + seed) & 0xff;
    this.mapped.fill(1, sector, sector + count);
  }

  #open(): void {
    if (this.closed) throw BlockError.disconnected();
  }

  async getInfo(): Promise<BlockInfo> {
    this.#open();
    return this.info;
  }

  async read(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    this.#open();
    checkRequest(this.info, sector, buffers);
    this.calls.read++;
    let at = sector * this.info.sectorSize;
    for (const b of buffers) {
      b.set(this.bytes.subarray(at, at + b.byteLength));
      at += b.byteLength;
      this.calls.readBytes += b.byteLength;
    }
  }

  async write(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    this.#open();
    if (!this.info.readWrite) throw BlockError.readOnly();
    const count = checkRequest(this.info, sector, buffers);
    this.calls.write++;
    let at = sector * this.info.sectorSize;
    for (const b of buffers) {
      this.bytes.set(b, at);
      at += b.byteLength;
    }
    this.mapped.fill(1, sector, sector + count);
  }

  async writeZeroes(sector: number, count: number): Promise<void> {
    this.#open();
    if (!this.info.readWrite) throw BlockError.readOnly();
    checkRange(this.info, sector, count);
    this.calls.writeZeroes++;
    this.#zero(sector, count);
  }

  async discard(sector: number, count: number): Promise<void> {
    this.#open();
    if (!this.info.readWrite) throw BlockError.readOnly();
    checkRange(this.info, sector, count);
    this.calls.discard++;
    this.#zero(sector, count);
  }

  #zero(sector: number, count: number): void {
    const { sectorSize } = this.info;
    this.bytes.fill(0, sector * sectorSize, (sector + count) * sectorSize);
    this.mapped.fill(0, sector, sector + count);
  }

  async seekMapped(sector: number): Promise<number> {
    this.#open();
    checkSeek(this.info, sector);
    const i = this.mapped.indexOf(1, sector);
    return i < 0 ? this.info.sizeSectors : i;
  }

  async seekUnmapped(sector: number): Promise<number> {
    this.#open();
    checkSeek(this.info, sector);
    const i = this.mapped.indexOf(0, sector);
    return i < 0 ? this.info.sizeSectors : i;
  }

  async disconnect(): Promise<void> {
    this.closed = true;
  }
}
