import { BlockError, checkSectorSize, copyBytes, deviceBytes, forEachUnit, type BlockInfo } from '@blk/core';
import { PageTable } from './page-table.js';

export interface RamdiskOptions {
  /** Device size in sectors (default 32768, i.e. 16 MiB at 512 bytes). */
  readonly sizeSectors?: number;
  /** Bytes per sector: a power of two from 512 to 65536 (default 512). */
  readonly sectorSize?: number;
  /**
   * Allocation unit in bytes: a power of two, at least the sector size and 4096 (default the
   * larger of 64 KiB and the sector size). Smaller pages waste less memory on scattered writes.
   */
  readonly pageSize?: number;
}

export const DEFAULT_SIZE_SECTORS = 32768;
const DEFAULT_PAGE_SIZE = 64 * 1024;

/**
 * The storage behind one or more Ramdisk handles: geometry plus sparse pages. All byte offsets
 * here are device byte offsets, already validated by the handle.
 */
export class RamdiskStore implements BlockInfo {
  readonly readWrite = true;
  readonly sectorSize: number;
  sizeSectors: number;
  readonly #pages: PageTable;
  readonly #pageSize: number;

  constructor(options: RamdiskOptions = {}) {
    const sectorSize = options.sectorSize ?? 512;
    checkSectorSize(sectorSize);
    const sizeSectors = options.sizeSectors ?? DEFAULT_SIZE_SECTORS;
    if (!Number.isSafeInteger(sizeSectors) || sizeSectors < 0) {
      throw new BlockError('INVALID_ARGUMENT', `sizeSectors must be a non-negative safe integer, got ${sizeSectors}`);
    }
    deviceBytes({ readWrite: true, sectorSize, sizeSectors });
    const pageSize = options.pageSize ?? Math.max(DEFAULT_PAGE_SIZE, sectorSize);
    if (!Number.isSafeInteger(pageSize) || pageSize < Math.max(4096, sectorSize) || (pageSize & (pageSize - 1)) !== 0) {
      throw new BlockError('INVALID_ARGUMENT', `pageSize must be a power of two ≥ max(4096, sectorSize), got ${pageSize}`);
    }
    this.sectorSize = sectorSize;
    this.sizeSectors = sizeSectors;
    this.#pageSize = pageSize;
    this.#pages = new PageTable(pageSize);
  }

  /** Bytes of page memory allocated. */
  get allocatedBytes(): number {
    return this.#pages.pages * this.#pageSize;
  }

  read(offset: number, buffers: readonly Uint8Array[]): void {
    const size = this.#pageSize;
    for (const buffer of buffers) {
      forEachUnit(offset, buffer.byteLength, size, (index, inPage, n, done) => {
        const page = this.#pages.get(index);
        if (page) copyBytes(page, buffer, done, inPage, inPage + n);
        else buffer.fill(0, done, done + n);
      });
      offset += buffer.byteLength;
    }
  }

  write(offset: number, buffers: readonly Uint8Array[]): void {
    const size = this.#pageSize;
    for (const buffer of buffers) {
      forEachUnit(offset, buffer.byteLength, size, (index, inPage, n, done) => {
        this.#pages.obtain(index).set(n === buffer.byteLength ? buffer : buffer.subarray(done, done + n), inPage);
      });
      offset += buffer.byteLength;
    }
  }

  /** Zeroes [offset, offset + length): whole pages are freed, partial ones cleared. */
  zero(offset: number, length: number): void {
    const size = this.#pageSize;
    for (let done = 0; done < length;) {
      const at = offset + done;
      const inPage = at % size;
      const n = Math.min(size - inPage, length - done);
      const pageNumber = (at - inPage) / size;
      if (n === size) this.#pages.delete(pageNumber);
      else this.#pages.get(pageNumber)?.fill(0, inPage, inPage + n);
      done += n;
      // Skip runs of absent pages in one step: nothing there to zero.
      if (done < length && !this.#pages.get((offset + done) / size)) {
        const next = this.#pages.nextAllocated((offset + done) / size);
        const nextByte = next < 0 ? Number.POSITIVE_INFINITY : next * size;
        if (nextByte > offset + done) done = Math.min(length, nextByte - offset);
      }
    }
  }

  resize(sizeSectors: number): void {
    if (sizeSectors < this.sizeSectors) {
      const end = sizeSectors * this.sectorSize;
      const inPage = end % this.#pageSize;
      // Clear the tail of the last kept page so growing again reads zeroes.
      if (inPage !== 0) this.#pages.get((end - inPage) / this.#pageSize)?.fill(0, inPage);
      this.#pages.truncate(Math.ceil(end / this.#pageSize));
    }
    this.sizeSectors = sizeSectors;
  }

  /** Next sector ≥ `sector` inside an allocated page, or the size. */
  seekMapped(sector: number): number {
    const page = this.#pageOf(sector);
    const next = this.#pages.nextAllocated(page);
    if (next < 0) return this.sizeSectors;
    return next === page ? sector : Math.min(this.sizeSectors, (next * this.#pageSize) / this.sectorSize);
  }

  /** Next sector ≥ `sector` inside an unallocated page, or the size. */
  seekUnmapped(sector: number): number {
    if (sector >= this.sizeSectors) return this.sizeSectors;
    const page = this.#pageOf(sector);
    const next = this.#pages.nextFree(page);
    return next === page ? sector : Math.min(this.sizeSectors, (next * this.#pageSize) / this.sectorSize);
  }

  #pageOf(sector: number): number {
    return Math.floor((sector * this.sectorSize) / this.#pageSize);
  }
}
