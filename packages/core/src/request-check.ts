import type { BlockInfo } from './block-device.js';
import { BlockError } from './block-error.js';

function checkSectorNumber(sector: unknown, name: string): asserts sector is number {
  if (typeof sector !== 'number' || !Number.isInteger(sector)) {
    throw new BlockError('INVALID_ARGUMENT', `${name} must be an integer, got ${describe(sector)}`);
  }
  if (sector < 0 || !Number.isSafeInteger(sector)) {
    throw new BlockError('OUT_OF_RANGE', `${name} ${sector} is out of range`);
  }
}

function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (value === null) return 'null';
  return typeof value;
}

function checkWithinDevice(info: BlockInfo, sector: number, count: number): void {
  // Both are safe and non-negative, so `size - sector` cannot overflow.
  if (sector > info.sizeSectors || count > info.sizeSectors - sector) {
    throw new BlockError(
      'OUT_OF_RANGE',
      `sectors [${sector}, ${sector + count}) are beyond the end of the device (${info.sizeSectors} sectors)`,
    );
  }
}

/**
 * The shared validation of a read or write (README.md § Request checks). Returns the number of sectors
 * the request covers. Throws a BlockError before anything is touched:
 * - INVALID_ARGUMENT: `sector` is not an integer (NaN, 1.5, Infinity, a string);
 * - OUT_OF_RANGE: `sector` is negative or unsafe, or the request runs past the end;
 * - INVALID_BUFFER: `buffers` is not an array of Uint8Array whose lengths are whole sectors.
 * An empty list is valid for any sector in [0, sizeSectors].
 */
export function checkRequest(info: BlockInfo, sector: unknown, buffers: unknown): number {
  checkSectorNumber(sector, 'sector');
  if (!Array.isArray(buffers)) {
    throw new BlockError('INVALID_BUFFER', 'buffers must be an array of Uint8Array');
  }
  let bytes = 0;
  for (let i = 0; i < buffers.length; i++) {
    const buffer: unknown = buffers[i];
    if (!(buffer instanceof Uint8Array)) {
      throw new BlockError('INVALID_BUFFER', `buffer ${i} is not a Uint8Array`);
    }
    if (buffer.byteLength % info.sectorSize !== 0) {
      throw new BlockError(
        'INVALID_BUFFER',
        `buffer ${i} is ${buffer.byteLength} bytes, not a multiple of the ${info.sectorSize}-byte sector`,
      );
    }
    bytes += buffer.byteLength;
  }
  const count = bytes / info.sectorSize;
  checkWithinDevice(info, sector, count);
  return count;
}

/** Validation for discard and writeZeroes: `count` sectors from `sector`, count 0 allowed. */
export function checkRange(info: BlockInfo, sector: unknown, count: unknown): void {
  checkSectorNumber(sector, 'sector');
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) {
    throw new BlockError('INVALID_ARGUMENT', `count must be a non-negative safe integer, got ${describe(count)}`);
  }
  checkWithinDevice(info, sector, count);
}

/** Validation for seekMapped/seekUnmapped: a sector in [0, sizeSectors]. */
export function checkSeek(info: BlockInfo, sector: unknown): asserts sector is number {
  checkSectorNumber(sector, 'sector');
  checkWithinDevice(info, sector, 0);
}

/** Validation for resize: a new size that is a non-negative safe integer. */
export function checkResize(sizeSectors: unknown): asserts sizeSectors is number {
  if (typeof sizeSectors !== 'number' || !Number.isSafeInteger(sizeSectors) || sizeSectors < 0) {
    throw new BlockError('INVALID_ARGUMENT', `size must be a non-negative safe integer, got ${describe(sizeSectors)}`);
  }
}

/** Checks a sector size a device is asked to use: a power of two from 512 to 65536. */
export function checkSectorSize(sectorSize: unknown): asserts sectorSize is number {
  if (
    typeof sectorSize !== 'number' ||
    !Number.isInteger(sectorSize) ||
    sectorSize < 512 ||
    sectorSize > 65536 ||
    (sectorSize & (sectorSize - 1)) !== 0
  ) {
    throw new BlockError('INVALID_ARGUMENT', `sector size must be a power of two from 512 to 65536, got ${describe(sectorSize)}`);
  }
}

/** Total bytes of a buffer list (already validated). */
export function totalBytes(buffers: readonly Uint8Array[]): number {
  let bytes = 0;
  for (const buffer of buffers) bytes += buffer.byteLength;
  return bytes;
}
