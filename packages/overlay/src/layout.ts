import { BlockError } from '@blk/core';

/** Entries of the on-top map per byte: two bits per block. */
export const BLOCKS_PER_MAP_BYTE = 4;

/**
 * Where things live on the top device (all in bytes):
 *
 * ```
 * [0, headerBytes)                  header (see header.ts)
 * [mapOffset, mapOffset + mapBytes) the map: two bits per block, four blocks per byte
 * [dataOffset, dataOffset + size)   the overlay's own bytes, block k at dataOffset + k × blockSize
 * ```
 *
 * `headerBytes` is max(4096, sectorSize), and the map is written in pieces of that size;
 * `dataOffset` is a multiple of both `headerBytes` and `blockSize`, so every block the overlay
 * writes to the top is aligned to the top's own allocation unit when that is the block size.
 */
export interface Layout {
  /** The overlay's sector size: the larger of the base's and the top's. */
  readonly sectorSize: number;
  /** The copy-on-write unit: a power of two, a multiple of the sector size. */
  readonly blockSize: number;
  /** The overlay's (and the base's) length. */
  readonly sizeBytes: number;
  readonly blocks: number;
  readonly headerBytes: number;
  readonly mapOffset: number;
  readonly mapBytes: number;
  readonly dataOffset: number;
  /** The least length the top must have. */
  readonly topBytes: number;
}

export const DEFAULT_BLOCK_SIZE = 64 * 1024;
export const MAX_BLOCK_SIZE = 16 * 1024 * 1024;

const ceilTo = (n: number, grain: number): number => Math.ceil(n / grain) * grain;

export function checkBlockSize(blockSize: unknown, sectorSize: number): asserts blockSize is number {
  if (
    typeof blockSize !== 'number' ||
    !Number.isSafeInteger(blockSize) ||
    blockSize < sectorSize ||
    blockSize > MAX_BLOCK_SIZE ||
    (blockSize & (blockSize - 1)) !== 0
  ) {
    throw new BlockError(
      'INVALID_ARGUMENT',
      `overlay: blockSize must be a power of two from the sector size (${sectorSize}) to ${MAX_BLOCK_SIZE}, got ${String(blockSize)}`,
    );
  }
}

/** The layout for an overlay of `sizeBytes` with the given sector and block sizes (already checked). */
export function computeLayout(sizeBytes: number, sectorSize: number, blockSize: number): Layout {
  const blocks = Math.ceil(sizeBytes / blockSize);
  const headerBytes = Math.max(4096, sectorSize);
  const mapOffset = headerBytes;
  const mapBytes = ceilTo(Math.ceil(blocks / BLOCKS_PER_MAP_BYTE), headerBytes);
  const dataOffset = ceilTo(mapOffset + mapBytes, Math.max(headerBytes, blockSize));
  const topBytes = dataOffset + sizeBytes;
  if (!Number.isSafeInteger(topBytes)) throw new BlockError('INVALID_ARGUMENT', `overlay: a top for ${sizeBytes} bytes would be too large`);
  return { sectorSize, blockSize, sizeBytes, blocks, headerBytes, mapOffset, mapBytes, dataOffset, topBytes };
}
