import { isSeekable, type BlockDevice, type SeekableBlockDevice } from './block-device.js';
import { BlockError } from './block-error.js';
import type { CombinatorOptions } from './combinator-options.js';

export interface Extent {
  readonly sector: number;
  readonly count: number;
  /** False when the whole run is guaranteed to read as zeroes. */
  readonly mapped: boolean;
}

async function checkedSeek(seek: (sector: number) => Promise<number>, pos: number, size: number): Promise<number> {
  const result = await seek(pos);
  if (!Number.isSafeInteger(result) || result < pos || result > size) {
    throw BlockError.io(`device answered seek(${pos}) with ${result}, outside [${pos}, ${size}]`);
  }
  return result;
}

/**
 * The run that starts at sector `pos` of a seekable device of `size` sectors, as far as one
 * seekUnmapped (and, at a zero sector, one seekMapped) tells: never empty, even when the device
 * contradicts itself (data is then the safe reading); a seek answer outside [pos, size] rejects
 * with IO. The building block of `extents`, for callers that walk a range in a hot loop.
 */
export async function extentAt(device: SeekableBlockDevice, pos: number, size: number): Promise<Extent> {
  const unmapped = await checkedSeek((s) => device.seekUnmapped(s), pos, size);
  if (unmapped > pos) return { sector: pos, count: unmapped - pos, mapped: true };
  const mapped = await checkedSeek((s) => device.seekMapped(s), pos, size);
  // "Guaranteed zero" and "may hold data" at the same sector: data is the safe reading.
  if (mapped === pos) return { sector: pos, count: 1, mapped: true };
  return { sector: pos, count: mapped - pos, mapped: false };
}

/**
 * Walks the device as consecutive runs covering [0, sizeSectors), adjacent runs of the same kind
 * merged. A device that cannot seek is one mapped run.
 */
export async function* extents(device: BlockDevice, options: CombinatorOptions = {}): AsyncGenerator<Extent> {
  const { signal, onProgress } = options;
  signal?.throwIfAborted();
  const { sizeSectors: size } = await device.getInfo();
  onProgress?.(0, size);
  if (!isSeekable(device)) {
    if (size > 0) yield { sector: 0, count: size, mapped: true };
    onProgress?.(size, size);
    return;
  }
  let pending: Extent | undefined;
  let pos = 0;
  while (pos < size) {
    signal?.throwIfAborted();
    const next = await extentAt(device, pos, size);
    pos += next.count;
    if (pending?.mapped === next.mapped) {
      pending = { sector: pending.sector, count: pending.count + next.count, mapped: next.mapped };
      continue;
    }
    if (pending) {
      yield pending;
      onProgress?.(pending.sector + pending.count, size);
    }
    pending = next;
  }
  if (pending) {
    yield pending;
    onProgress?.(size, size);
  }
}
