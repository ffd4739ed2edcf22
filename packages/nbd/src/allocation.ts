import { BlockError, isSeekable, type BlockDevice, type BlockInfo } from '@blk/core';

/** A run of bytes that may hold data (`zero: false`) or is guaranteed to read as zeroes. */
export interface AllocationRun {
  readonly offset: number;
  readonly length: number;
  readonly zero: boolean;
}

async function checked(answer: Promise<number>, sector: number, size: number): Promise<number> {
  const result = await answer;
  if (!Number.isSafeInteger(result) || result < sector || result > size) {
    throw BlockError.io(`device answered a seek from sector ${sector} with ${result}, outside [${sector}, ${size}]`);
  }
  return result;
}

/**
 * The allocation of bytes [offset, offset + length) from the device's seekUnmapped/seekMapped, as
 * core's `extents` reads them but over one range: consecutive runs, adjacent runs of one kind
 * merged, the first starting at `offset`, the last clipped to the range, at most `maxRuns`
 * (a shorter answer still covers a prefix). A device that cannot seek is all data.
 */
export async function allocationRuns(
  device: BlockDevice,
  info: BlockInfo,
  offset: number,
  length: number,
  maxRuns: number,
): Promise<AllocationRun[]> {
  const end = offset + length;
  if (!isSeekable(device) || length === 0) return length === 0 ? [] : [{ offset, length, zero: false }];
  const { sectorSize, sizeSectors } = info;
  const runs: AllocationRun[] = [];
  let pos = offset;
  while (pos < end) {
    const sector = Math.floor(pos / sectorSize);
    let next: number;
    let zero: boolean;
    const unmapped = await checked(device.seekUnmapped(sector), sector, sizeSectors);
    if (unmapped > sector) {
      next = unmapped;
      zero = false;
    } else {
      const mapped = await checked(device.seekMapped(sector), sector, sizeSectors);
      // "Guaranteed zero" and "may hold data" at once: data is the safe reading.
      zero = mapped > sector;
      next = zero ? mapped : sector + 1;
    }
    const runEnd = Math.min(end, next * sectorSize);
    const last = runs.at(-1);
    if (last?.zero === zero) runs[runs.length - 1] = { offset: last.offset, length: runEnd - last.offset, zero };
    else if (runs.length === maxRuns) break;
    else runs.push({ offset: pos, length: runEnd - pos, zero });
    pos = runEnd;
  }
  return runs;
}
