import type { BlockDevice, BlockInfo } from './block-device.js';
import { BlockError } from './block-error.js';
import type { CombinatorOptions } from './combinator-options.js';
import { extents } from './extents.js';
import { alignedChunk, deviceBytes, lcm } from './sector-math.js';
import { runPool } from './worker-pool.js';
import { ensureZero } from './zero-range.js';

export interface CopyOptions extends CombinatorOptions {
  /** Bytes per read/write, rounded to whole sectors of both devices. Default 1 MiB. */
  readonly chunkBytes?: number | undefined;
  /** Requests in flight. Default 4. */
  readonly concurrency?: number | undefined;
}

const DEFAULT_CHUNK = 1 << 20;
const DEFAULT_CONCURRENCY = 4;
/** Zeroing is cheap per byte but reported per task; this keeps progress moving on huge holes. */
const ZERO_TASK_BYTES = 1 << 30;

/** A byte range of the source: copied when `data`, made zero on the destination otherwise. */
interface CopyTask {
  readonly offset: number;
  readonly length: number;
  readonly data: boolean;
}

function* split(offset: number, end: number, piece: number, data: boolean): Generator<CopyTask> {
  for (let at = offset; at < end; at += piece) yield { offset: at, length: Math.min(piece, end - at), data };
}

/**
 * Plans the copy from the source's extents. Mapped runs are widened to the grain (the bytes
 * added are zero on the source, so copying them is harmless); the gaps between them are holes.
 */
async function* plan(
  src: BlockDevice,
  info: BlockInfo,
  bytes: number,
  grain: number,
  chunk: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<CopyTask> {
  let cursor = 0;
  for await (const extent of extents(src, signal ? { signal } : {})) {
    if (!extent.mapped) continue;
    const start = Math.max(cursor, Math.floor((extent.sector * info.sectorSize) / grain) * grain);
    const end = Math.min(bytes, Math.ceil(((extent.sector + extent.count) * info.sectorSize) / grain) * grain);
    if (end <= start) continue;
    yield* split(cursor, start, ZERO_TASK_BYTES, false);
    yield* split(start, end, chunk, true);
    cursor = end;
  }
  yield* split(cursor, bytes, ZERO_TASK_BYTES, false);
}

/**
 * Copies the whole source onto the start of `dst`. Sparse when the source can seek: unmapped runs
 * are not read, they are made zero on the destination (skipped where it already reads zero).
 * Works in bytes, so the devices' sector sizes may differ; the source's length must be a whole
 * number of the destination's sectors and fit in it.
 */
export async function copy(src: BlockDevice, dst: BlockDevice, options: CopyOptions = {}): Promise<void> {
  const { signal, onProgress } = options;
  signal?.throwIfAborted();
  const [srcInfo, dstInfo] = await Promise.all([src.getInfo(), dst.getInfo()]);
  if (!dstInfo.readWrite) throw BlockError.readOnly('destination device');
  const bytes = deviceBytes(srcInfo);
  if (deviceBytes(dstInfo) < bytes) {
    throw new BlockError('INVALID_ARGUMENT', `destination is smaller than the source (${bytes} bytes)`);
  }
  if (bytes % dstInfo.sectorSize !== 0) {
    throw new BlockError(
      'INVALID_ARGUMENT',
      `source length ${bytes} is not a whole number of ${dstInfo.sectorSize}-byte destination sectors`,
    );
  }
  const grain = lcm(srcInfo.sectorSize, dstInfo.sectorSize);
  const chunk = alignedChunk(options.chunkBytes ?? DEFAULT_CHUNK, grain);
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const buffers = new Map<number, Uint8Array>();
  let done = 0;
  onProgress?.(0, bytes);

  const run = async (task: CopyTask, worker: number): Promise<void> => {
    const dstSector = task.offset / dstInfo.sectorSize;
    if (task.data) {
      let buffer = buffers.get(worker);
      if (!buffer) buffers.set(worker, (buffer = new Uint8Array(chunk)));
      const view = buffer.subarray(0, task.length);
      await src.read(task.offset / srcInfo.sectorSize, [view]);
      await dst.write(dstSector, [view]);
    } else {
      const count = task.length / dstInfo.sectorSize;
      await ensureZero(dst, dstSector, count);
    }
    done += task.length;
    onProgress?.(done, bytes);
  };
  await runPool(concurrency, plan(src, srcInfo, bytes, grain, chunk, signal), run, signal);
}
