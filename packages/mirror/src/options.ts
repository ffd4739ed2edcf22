import { BlockError } from '@blk/core';
import type { ProgressListener } from './progress.js';

export interface ThrottleOptions {
  /**
   * The copy gives the event loop a turn (so ready client requests run) whenever it has run this
   * many milliseconds since the last one. Default 0: before every chunk, which keeps client
   * latency lowest; a few milliseconds make an in-memory copy faster when the CPU is contended.
   */
  readonly sliceMs?: number;
  /**
   * Average ceiling on the bytes the background copy reads from the primary (and writes to the
   * secondary) per second. Zeroing unmapped runs is not counted. Default: no ceiling.
   */
  readonly bytesPerSecond?: number;
}

export interface MirrorOptions {
  /** Progress of the background copy; see `MirrorProgress`. Exceptions it throws are ignored. */
  readonly onProgress?: ProgressListener;
  /** Bytes per background read and write, rounded down to whole mirror sectors. Default 256 KiB. */
  readonly chunkBytes?: number;
  /** Background chunks in flight at once (1–64). Default 4. */
  readonly concurrency?: number;
  /** Paces the background copy; by default it is not rate-limited and yields to the event loop before every chunk. */
  readonly throttle?: ThrottleOptions;
  /** Whether `disconnect()` also disconnects the primary and the secondary. Default false. */
  readonly disconnectChildren?: boolean;
}

export interface ResolvedOptions {
  readonly onProgress: ProgressListener | undefined;
  readonly chunkBytes: number;
  readonly concurrency: number;
  readonly bytesPerSecond: number | undefined;
  readonly sliceMs: number;
  readonly disconnectChildren: boolean;
}

export const DEFAULT_CHUNK_BYTES = 256 << 10;
export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_SLICE_MS = 0;
const MAX_CONCURRENCY = 64;

const shown = (value: unknown): string => (typeof value === 'number' ? String(value) : typeof value);

function invalid(message: string): BlockError {
  return new BlockError('INVALID_ARGUMENT', `mirror: ${message}`);
}

/** Checks the caller's options (INVALID_ARGUMENT on anything malformed) and fills in defaults. */
export function resolveOptions(options: unknown): ResolvedOptions {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
  const { onProgress, chunkBytes, concurrency, throttle, disconnectChildren } = options as Record<keyof MirrorOptions, unknown>;
  if (onProgress !== undefined && typeof onProgress !== 'function') throw invalid('onProgress must be a function');
  if (chunkBytes !== undefined && (typeof chunkBytes !== 'number' || !Number.isSafeInteger(chunkBytes) || chunkBytes <= 0)) {
    throw invalid(`chunkBytes must be a positive integer, got ${shown(chunkBytes)}`);
  }
  if (
    concurrency !== undefined &&
    (typeof concurrency !== 'number' || !Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY)
  ) {
    throw invalid(`concurrency must be an integer from 1 to ${MAX_CONCURRENCY}, got ${shown(concurrency)}`);
  }
  if (throttle !== undefined && (typeof throttle !== 'object' || throttle === null)) throw invalid('throttle must be an object');
  const { bytesPerSecond, sliceMs } = (throttle ?? {}) as Record<keyof ThrottleOptions, unknown>;
  if (bytesPerSecond !== undefined && (typeof bytesPerSecond !== 'number' || !(bytesPerSecond > 0) || !Number.isFinite(bytesPerSecond))) {
    throw invalid(`throttle.bytesPerSecond must be a positive finite number, got ${shown(bytesPerSecond)}`);
  }
  if (sliceMs !== undefined && (typeof sliceMs !== 'number' || !(sliceMs >= 0) || !Number.isFinite(sliceMs))) {
    throw invalid(`throttle.sliceMs must be a non-negative finite number, got ${shown(sliceMs)}`);
  }
  if (disconnectChildren !== undefined && typeof disconnectChildren !== 'boolean') throw invalid('disconnectChildren must be a boolean');
  return {
    onProgress: onProgress as ProgressListener | undefined,
    chunkBytes: chunkBytes ?? DEFAULT_CHUNK_BYTES,
    concurrency: concurrency ?? DEFAULT_CONCURRENCY,
    bytesPerSecond,
    sliceMs: sliceMs ?? DEFAULT_SLICE_MS,
    disconnectChildren: disconnectChildren ?? false,
  };
}
