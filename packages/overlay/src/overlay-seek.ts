import { BASE, DATA, ZERO, type BlockMap } from './block-map.js';
import type { Child } from './child.js';
import type { Layout } from './layout.js';

/** The end of block `block` (the last block may be short). */
export function blockEnd(layout: Layout, block: number): number {
  return Math.min((block + 1) * layout.blockSize, layout.sizeBytes);
}

/** First byte at or after `from` that may hold data: in a DATA block, or data of the base in a BASE block. */
export async function nextMapped(map: BlockMap, layout: Layout, base: Child, from: number): Promise<number> {
  const { blockSize, sizeBytes } = layout;
  for (let block = Math.floor(from / blockSize); block < map.blocks;) {
    const state = map.states[block];
    const runEnd = map.runEnd(block, map.blocks);
    const at = Math.max(from, block * blockSize);
    const end = blockEnd(layout, runEnd - 1);
    if (state === DATA) return at;
    if (state === BASE) {
      if (!base.seekable) return at;
      const mapped = await base.mappedFrom(at, end);
      if (mapped < end) return mapped;
    }
    block = state === ZERO ? map.nextOther(ZERO, runEnd) : runEnd;
  }
  return sizeBytes;
}

/** First byte at or after `from` guaranteed to read zero: in a ZERO block, or a hole of the base in a BASE block. */
export async function nextUnmapped(map: BlockMap, layout: Layout, base: Child, from: number): Promise<number> {
  const { blockSize, sizeBytes } = layout;
  for (let block = Math.floor(from / blockSize); block < map.blocks;) {
    const state = map.states[block];
    const runEnd = map.runEnd(block, map.blocks);
    const at = Math.max(from, block * blockSize);
    const end = blockEnd(layout, runEnd - 1);
    if (state === ZERO) return at;
    if (state === BASE && base.seekable) {
      const unmapped = await baseZeroSector(base, layout.sectorSize, at, end);
      if (unmapped < end) return unmapped;
    }
    block = state === DATA ? map.nextOther(DATA, runEnd) : runEnd;
  }
  return sizeBytes;
}

/**
 * The first overlay sector in [from, end) that reads zero on the base, or `end`. The base's
 * sectors may be smaller than the overlay's: a hole must then cover a whole overlay sector.
 */
async function baseZeroSector(base: Child, ss: number, from: number, end: number): Promise<number> {
  for (let pos = from; pos < end;) {
    const zero = await base.unmappedFrom(pos, end);
    const aligned = Math.ceil(zero / ss) * ss;
    if (aligned >= end) return end;
    if (aligned === zero && base.info.sectorSize === ss) return zero;
    const data = await base.mappedFrom(aligned, end);
    if (data >= aligned + ss) return aligned;
    pos = Math.floor(data / ss) * ss + ss;
  }
  return end;
}
