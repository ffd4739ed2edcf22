import { checkSeek, toBlockError, type BlockInfo } from '@blk/core';
import type { FmapNative } from './native-binding.js';

/** lseek rounds before seekHoleSector gives up on sub-sector holes and asks for a scan. */
const MAX_SEEK_STEPS = 10_000;

function lseek(fn: () => number, path: string, what: string): number {
  try {
    return fn();
  } catch (error) {
    throw toBlockError(error, `${path}: ${what}`);
  }
}

/** The first sector at or after `sector` holding data, found with lseek(SEEK_DATA). */
export function seekDataSector(native: FmapNative, fd: number, info: BlockInfo, sector: number, path: string): number {
  checkSeek(info, sector);
  const { sectorSize, sizeSectors } = info;
  if (sector === sizeSectors) return sizeSectors;
  // ENXIO in a trailing hole means "no more data": the end of the device, not an error.
  const data = lseek(() => native.seekData(fd, sector * sectorSize), path, 'lseek(SEEK_DATA)');
  if (data < 0) return sizeSectors;
  return Math.min(sizeSectors, Math.max(sector, Math.floor(data / sectorSize)));
}

/** The first unmapped sector at or after `sector`, or where to scan from when lseek keeps finding sub-sector holes. */
export function seekHoleSector(
  native: FmapNative,
  fd: number,
  info: BlockInfo,
  sector: number,
  path: string,
): number | { scanFrom: number } {
  checkSeek(info, sector);
  const { sectorSize, sizeSectors } = info;
  if (sector === sizeSectors) return sizeSectors;
  let position = sector * sectorSize;
  for (let step = 0; step < MAX_SEEK_STEPS; step++) {
    const hole = lseek(() => native.seekHole(fd, position), path, 'lseek(SEEK_HOLE)');
    if (hole < 0) return sizeSectors;
    const candidate = Math.max(sector, Math.ceil(hole / sectorSize));
    if (candidate >= sizeSectors) return sizeSectors;
    // A hole may be shorter than a sector: only a sector with no data in it is guaranteed zero.
    const data = lseek(() => native.seekData(fd, candidate * sectorSize), path, 'lseek(SEEK_DATA)');
    if (data < 0 || data >= (candidate + 1) * sectorSize) return candidate;
    position = data;
  }
  return { scanFrom: Math.floor(position / sectorSize) };
}

const SCAN_BYTES = 1 << 20;

function isZero(bytes: Uint8Array): boolean {
  for (const byte of bytes) if (byte !== 0) return false;
  return true;
}

/**
 * Without lseek: the first sector at or after `sector` that is all zero (`wantZero`) or not,
 * reading 1 MiB at a time through `read(view, sector)` (which returns the bytes it read).
 */
export async function scanSectors(
  info: BlockInfo,
  sector: number,
  wantZero: boolean,
  read: (view: Uint8Array, sector: number) => Promise<number>,
): Promise<number> {
  const { sectorSize, sizeSectors } = info;
  const perChunk = Math.max(1, Math.floor(SCAN_BYTES / sectorSize));
  const chunk = new Uint8Array(perChunk * sectorSize);
  for (let at = sector; at < sizeSectors; at += perChunk) {
    const n = Math.min(perChunk, sizeSectors - at);
    const view = chunk.subarray(0, n * sectorSize);
    const bytesRead = await read(view, at);
    view.fill(0, bytesRead);
    for (let i = 0; i < n; i++) {
      if (isZero(view.subarray(i * sectorSize, (i + 1) * sectorSize)) === wantZero) return at + i;
    }
  }
  return sizeSectors;
}
