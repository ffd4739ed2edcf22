import type { Supports } from './supports.js';

export interface BlockInfo {
  readonly readWrite: boolean;
  /** Bytes per sector. */
  readonly sectorSize: number;
  readonly sizeSectors: number;
}

/**
 * The contract every `@blk` backend implements. Sectors and counts are safe integers; every
 * expected failure rejects with a BlockError. Optional methods are present exactly when the
 * matching `supports` flag is true.
 */
export interface BlockDevice {
  readonly supports: Supports;
  getInfo(): Promise<BlockInfo>;
  /** Fills every byte of `buffers` from consecutive sectors starting at `sector`. */
  read(sector: number, buffers: readonly Uint8Array[]): Promise<void>;
  /** Writes `buffers` to consecutive sectors starting at `sector`; the device keeps no reference. */
  write(sector: number, buffers: readonly Uint8Array[]): Promise<void>;
  /** Idempotent, never rejects. Every other method rejects DISCONNECTED afterwards. */
  disconnect(): Promise<void>;
  /** Durable when `supports.persistent`. */
  flush?(): Promise<void>;
  discard?(sector: number, count: number): Promise<void>;
  writeZeroes?(sector: number, count: number): Promise<void>;
  resize?(sizeSectors: number): Promise<void>;
  /** Next sector at or after `sector` that may hold data, or `sizeSectors`. */
  seekMapped?(sector: number): Promise<number>;
  /** Next sector at or after `sector` that is guaranteed to read as zero, or `sizeSectors`. */
  seekUnmapped?(sector: number): Promise<number>;
}

/** A device whose `seek` flag is set. */
export type SeekableBlockDevice = BlockDevice & Required<Pick<BlockDevice, 'seekMapped' | 'seekUnmapped'>>;

export function isSeekable(device: BlockDevice): device is SeekableBlockDevice {
  return device.supports.seek && typeof device.seekMapped === 'function' && typeof device.seekUnmapped === 'function';
}
