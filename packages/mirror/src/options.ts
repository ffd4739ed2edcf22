import { BlockError } from '@blk/core';
import type { ProgressListener } from './progress.js';

export interface ThrottleOptions {
  /**
   * While no client is active, the copy gives the event loop a turn (so a request that arrives is
   * heard) whenever it has run this many milliseconds since the last one. Default 2; 0 = before
   * every chunk. While clients are active every chunk starts on a fresh turn anyway.
   */
  readonly sliceMs?: number;
  /**
   * Whether the copy adapts to the clients' load (default true): while a client request is in
   * flight or was within `idleAfterMs`, at most one chunk of `busyChunkBytes` is in flight, for at
   * most `busyShare` of the time. False: always `concurrency` chunks of `chunkBytes`.
   */
  readonly adaptive?: boolean;
  /** No client request for this long means the clients are idle. Default 50 ms. */
  readonly idleAfterMs?: number;
  /** Bytes per background chunk while clients are active (rounded to whole sectors). Default 64 KiB. */
  readonly busyChunkBytes?: number;
  /** While clients are active, the share of the time (0–1] the copy may have a chunk in flight. Default 0.1. */
  readonly busyShare?: number;
  /**
   * Average ceiling on the bytes the background copy reads from the primary (and writes to the
   * secondary) per second. Zeroing unmapped runs is not counted. Default: no ceiling.
   */
  readonly bytesPerSecond?: number;
}

export interface MirrorOptions {
  /** Progress of the background copy; see `MirrorProgress`. Exceptions it throws are ignored. */
  readonly onProgress?: ProgressListener;
  /** Bytes per background read and write, rounded down to whole mirror sectors. Default 1 MiB. */
  readonly chunkBytes?: number | undefined;
  /** Background chunks in flight at once (1–64). Default 4. */
  readonly concurrency?: number;
  /** Paces the background copy; by default it adapts to the clients' load and is not rate-limited. */
  readonly throttle?: ThrottleOptions | undefined;
  /** Whether `disconnect()` also disconnects the primary and the secondary. Default false. */
  readonly disconnectChildren?: boolean;
}

export interface ResolvedOptions {
  readonly onProgress: ProgressListener | undefined;
  readonly chunkBytes: number;
  readonly concurrency: number;
  readonly bytesPerSecond: number | undefined;
  readonly sliceMs: number;
  readonly adaptive: boolean;
  readonly idleAfterMs: number;
  readonly busyChunkBytes: number;
  readonly busyShare: number;
  readonly disconnectChildren: boolean;
}

export const DEFAULT_CHUNK_BYTES = 1 << 20;
export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_SLICE_MS = 2;
export const DEFAULT_IDLE_AFTER_MS = 50;
export const DEFAULT_BUSY_CHUNK_BYTES = 64 << 10;
/**
 * A tenth: end to end (fio at QD8 on a served image mirrored onto `nbdkit memory`, 2 cores) the
 * copy in flight half the time doubled the clients' p99 or worse; at a tenth it was 1.2–1.7× a
 * plain serve's.
 */
export const DEFAULT_BUSY_SHARE = 0.1;
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
  const { bytesPerSecond, sliceMs, adaptive, idleAfterMs, busyChunkBytes, busyShare } = (throttle ?? {}) as Record<
    keyof ThrottleOptions,
    unknown
  >;
  if (bytesPerSecond !== undefined && (typeof bytesPerSecond !== 'number' || !(bytesPerSecond > 0) || !Number.isFinite(bytesPerSecond))) {
    throw invalid(`throttle.bytesPerSecond must be a positive finite number, got ${shown(bytesPerSecond)}`);
  }
  if (sliceMs !== undefined && (typeof sliceMs !== 'number' || !(sliceMs >= 0) || !Number.isFinite(sliceMs))) {
    throw invalid(`throttle.sliceMs must be a non-negative finite number, got ${shown(sliceMs)}`);
  }
  if (adaptive !== undefined && typeof adaptive !== 'boolean') throw invalid('throttle.adaptive must be a boolean');
  if (idleAfterMs !== undefined && (typeof idleAfterMs !== 'number' || !(idleAfterMs >= 0) || !Number.isFinite(idleAfterMs))) {
    throw invalid(`throttle.idleAfterMs must be a non-negative finite number, got ${shown(idleAfterMs)}`);
  }
  if (
    busyChunkBytes !== undefined &&
    (typeof busyChunkBytes !== 'number' || !Number.isSafeInteger(busyChunkBytes) || busyChunkBytes <= 0)
  ) {
    throw invalid(`throttle.busyChunkBytes must be a positive integer, got ${shown(busyChunkBytes)}`);
  }
  if (busyShare !== undefined && (typeof busyShare !== 'number' || !(busyShare > 0 && busyShare <= 1))) {
    throw invalid(`throttle.busyShare must be more than 0 and at most 1, got ${shown(busyShare)}`);
  }
  if (disconnectChildren !== undefined && typeof disconnectChildren !== 'boolean') throw invalid('disconnectChildren must be a boolean');
  return {
    onProgress: onProgress as ProgressListener | undefined,
    chunkBytes: chunkBytes ?? DEFAULT_CHUNK_BYTES,
    concurrency: concurrency ?? DEFAULT_CONCURRENCY,
    bytesPerSecond,
    sliceMs: sliceMs ?? DEFAULT_SLICE_MS,
    adaptive: adaptive ?? true,
    idleAfterMs: idleAfterMs ?? DEFAULT_IDLE_AFTER_MS,
    busyChunkBytes: busyChunkBytes ?? DEFAULT_BUSY_CHUNK_BYTES,
    busyShare: busyShare ?? DEFAULT_BUSY_SHARE,
    disconnectChildren: disconnectChildren ?? false,
  };
}
