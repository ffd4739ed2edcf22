import { extentAt, isSeekable, type BlockDevice, type BlockInfo } from '@blk/core';

/** A run of bytes that may hold data (`zero: false`) or is guaranteed to read as zeroes. */
export interface AllocationRun {
  readonly offset: number;
  readonly length: number;
  readonly zero: boolean;
}

/**
 * The allocation of bytes [offset, offset + length), walked with core's `extentAt` (what
 * `extents` does, without its generator on this per-request path): consecutive runs, adjacent
 * runs of one kind merged, the last clipped to the range, at most `maxRuns` (a shorter answer
 * still covers a prefix). A device that cannot seek is all data.
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
    const extent = await extentAt(device, sector, sizeSectors);
    const zero = !extent.mapped;
    const runEnd = Math.min(end, (sector + extent.count) * sectorSize);
    const last = runs.at(-1);
    if (last?.zero === zero) runs[runs.length - 1] = { offset: last.offset, length: runEnd - last.offset, zero };
    else if (runs.length === maxRuns) break;
    else runs.push({ offset: pos, length: runEnd - pos, zero });
    pos = runEnd;
  }
  return runs;
}
