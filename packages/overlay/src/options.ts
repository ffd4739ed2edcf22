import { BlockError } from '@blk/core';

export interface OverlayOptions {
  /**
   * The copy-on-write unit in bytes, used when the top is formatted: a power of two from the
   * sector size to 16 MiB. Default 64 KiB (or the sector size, when larger). A formatted top keeps
   * its own; asking for another one then fails with GEOMETRY_MISMATCH.
   */
  readonly blockSize?: number;
  /** Whether `disconnect()` also disconnects the base and the top. Default false. */
  readonly disconnectChildren?: boolean;
}

export interface ResolvedOptions {
  readonly blockSize: number | undefined;
  readonly disconnectChildren: boolean;
}

export function resolveOptions(options: unknown): ResolvedOptions {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null) throw new BlockError('INVALID_ARGUMENT', 'overlay: options must be an object');
  const { blockSize, disconnectChildren } = options as Record<keyof OverlayOptions, unknown>;
  if (blockSize !== undefined && typeof blockSize !== 'number') {
    throw new BlockError('INVALID_ARGUMENT', `overlay: blockSize must be a number, got ${typeof blockSize}`);
  }
  if (disconnectChildren !== undefined && typeof disconnectChildren !== 'boolean') {
    throw new BlockError('INVALID_ARGUMENT', 'overlay: disconnectChildren must be a boolean');
  }
  return { blockSize, disconnectChildren: disconnectChildren === true };
}
