import type { CombinatorOptions } from '@blk/core';
import { BASE, ZERO, type BlockMap } from './block-map.js';
import type { Child } from './child.js';
import type { Layout } from './layout.js';
import { blockEnd } from './overlay-seek.js';

/** Bytes commit() moves per step (read from the top, written to the base) under one lock. */
const COMMIT_STEP_BYTES = 1 << 20;

export interface CommitParts {
  readonly map: BlockMap;
  readonly layout: Layout;
  readonly top: Child;
  readonly base: Child;
  /** Runs `work` holding the overlay's region lock on [start, end). */
  readonly locked: <T>(start: number, end: number, work: () => Promise<T>) => Promise<T>;
}

/**
 * Copies every block the top holds down into the base (zero blocks zeroed there), one step of at
 * most COMMIT_STEP_BYTES under the lock at a time, and marks those blocks as the base's again.
 * The caller flushes afterwards (base first, then the map).
 */
export async function commitBlocks(parts: CommitParts, markBaseDirty: () => void, options: CombinatorOptions): Promise<void> {
  const { signal, onProgress } = options;
  const { map, layout, top, base, locked } = parts;
  const { blockSize, dataOffset } = layout;
  const stepBlocks = Math.max(1, Math.floor(COMMIT_STEP_BYTES / blockSize));
  const total = map.blocks - map.count(BASE);
  let done = 0;
  onProgress?.(0, total);
  let buffer: Uint8Array | undefined;
  for (let block = map.nextOther(BASE, 0); block < map.blocks; block = map.nextOther(BASE, block)) {
    signal?.throwIfAborted();
    const limit = Math.min(map.blocks, block + stepBlocks);
    const start = block * blockSize;
    const next = await locked(start, limit * blockSize, async () => {
      // The states may have changed while this step waited for the lock.
      const state = map.states[block];
      const runEnd = map.runEnd(block, limit);
      if (state === BASE) return runEnd;
      const end = blockEnd(layout, runEnd - 1);
      markBaseDirty();
      if (state === ZERO) {
        await base.zero(start, end - start);
      } else {
        buffer ??= new Uint8Array(stepBlocks * blockSize);
        const view = buffer.subarray(0, end - start);
        await top.read(dataOffset + start, [view]);
        await base.write(start, [view]);
      }
      map.set(block, runEnd, BASE);
      done += runEnd - block;
      onProgress?.(done, total);
      return runEnd;
    });
    block = next;
  }
}
