import { isSeekable, type BlockDevice, type BlockInfo } from './block-device.js';
import { compareBytes } from './bytes.js';
import type { CombinatorOptions } from './combinator-options.js';
import { extents, type Extent } from './extents.js';
import { alignedChunk, deviceBytes, lcm } from './sector-math.js';

export interface CompareOptions extends CombinatorOptions {
  /** Bytes compared per step, rounded to whole sectors of both devices. Default 1 MiB. */
  readonly chunkBytes?: number;
}

/** Answers "does this device read zero from byte `at`, and until where?" from its extents. */
class ZeroCursor {
  readonly #iterator: AsyncIterator<Extent> | undefined;
  readonly #sectorSize: number;
  #current: { start: number; end: number; zero: boolean } | undefined;

  constructor(device: BlockDevice, info: BlockInfo, signal: AbortSignal | undefined) {
    this.#sectorSize = info.sectorSize;
    this.#iterator = isSeekable(device) ? extents(device, signal ? { signal } : {}) : undefined;
  }

  /** The byte where the zero run holding `at` ends, or `at` when `at` may hold data. */
  async zeroUntil(at: number): Promise<number> {
    if (!this.#iterator) return at;
    while (!this.#current || this.#current.end <= at) {
      const next = await this.#iterator.next();
      if (next.done === true) return at;
      const { sector, count, mapped } = next.value;
      this.#current = { start: sector * this.#sectorSize, end: (sector + count) * this.#sectorSize, zero: !mapped };
    }
    return this.#current.zero && this.#current.start <= at ? this.#current.end : at;
  }

  async close(): Promise<void> {
    await this.#iterator?.return?.();
  }
}

/**
 * Resolves 0 when both devices have the same byte length and contents; otherwise the sign of the
 * first difference (length first, then the first differing byte). Runs that read as zero on both
 * devices are skipped without reading when both can seek.
 */
export async function compare(a: BlockDevice, b: BlockDevice, options: CompareOptions = {}): Promise<number> {
  const { signal, onProgress } = options;
  signal?.throwIfAborted();
  const [infoA, infoB] = await Promise.all([a.getInfo(), b.getInfo()]);
  const bytes = deviceBytes(infoA);
  const bytesB = deviceBytes(infoB);
  if (bytes !== bytesB) return bytes < bytesB ? -1 : 1;
  const grain = lcm(infoA.sectorSize, infoB.sectorSize);
  const chunk = alignedChunk(options.chunkBytes ?? 1 << 20, grain);
  const bufA = new Uint8Array(chunk);
  const bufB = new Uint8Array(chunk);
  const zeroA = new ZeroCursor(a, infoA, signal);
  const zeroB = new ZeroCursor(b, infoB, signal);
  onProgress?.(0, bytes);
  try {
    for (let at = 0; at < bytes;) {
      signal?.throwIfAborted();
      const [untilA, untilB] = await Promise.all([zeroA.zeroUntil(at), zeroB.zeroUntil(at)]);
      // Both zero up to the nearer end (rounded down to the grain), so there is nothing to read.
      const skipTo = Math.floor(Math.min(untilA, untilB) / grain) * grain;
      if (skipTo > at) {
        at = skipTo;
        onProgress?.(at, bytes);
        continue;
      }
      const length = Math.min(chunk, bytes - at);
      const viewA = bufA.subarray(0, length);
      const viewB = bufB.subarray(0, length);
      await Promise.all([a.read(at / infoA.sectorSize, [viewA]), b.read(at / infoB.sectorSize, [viewB])]);
      const order = compareBytes(viewA, viewB);
      if (order !== 0) return order;
      at += length;
      onProgress?.(at, bytes);
    }
    return 0;
  } finally {
    await Promise.all([zeroA.close(), zeroB.close()]);
  }
}
