import type { CopyPlanner, CopyWindow } from './copy-planner.js';
import { ceilTo, floorTo, type DevicePair } from './device-pair.js';
import type { CopyPacer, Grant } from './copy-pacer.js';
import { nextTurn, runPool, type RegionLock } from '@blk/core';

export interface CopyJob {
  readonly pair: DevicePair;
  readonly planner: CopyPlanner;
  readonly lock: RegionLock;
  /** Grants each chunk (when, and how big); see CopyPacer. */
  readonly pacer: CopyPacer;
  /** Bytes of each worker's copy buffer: the largest data chunk, a whole number of grains. */
  readonly chunk: number;
  /** Workers; the pacer decides how many have a chunk in flight. */
  readonly concurrency: number;
  /** Stops the copy between windows; the window in flight finishes first. */
  readonly signal: AbortSignal;
  /** Called after each window is on the secondary, with the window's length. */
  readonly onCopied: (bytes: number) => void;
}

/**
 * Copies a window that looked like a hole when planned. The region lock is held, so no client
 * write to it is in flight: what the primary says now is final for this window. Unmapped runs are
 * zeroed on the secondary without reading the primary; anything a client wrote since the plan is
 * copied as data. Returns the bytes read from the primary.
 */
async function copyHole(pair: DevicePair, window: CopyWindow, buffer: () => Uint8Array, pause?: () => Promise<void>): Promise<number> {
  const { grain } = pair;
  let copied = 0;
  let pos = window.start;
  while (pos < window.end) {
    const mapped = await pair.primaryMappedFrom(pos);
    const zeroEnd = Math.min(window.end, floorTo(mapped, grain));
    if (zeroEnd > pos) {
      await pair.zeroSecondary(pos, zeroEnd);
      pos = zeroEnd;
      continue;
    }
    // Data begins within this grain: copy the mapped run, widened to whole grains.
    const unmapped = await pair.primaryUnmappedFrom(mapped);
    const dataEnd = Math.min(window.end, Math.max(pos + grain, ceilTo(unmapped, grain)));
    await pair.copyRange(pos, dataEnd, buffer(), pause);
    copied += dataEnd - pos;
    pos = dataEnd;
  }
  return copied;
}

/** A chunk the pacer granted and the window the planner gave it. */
interface CopyItem {
  readonly grant: Grant;
  readonly window: CopyWindow;
}

/** Grants from the pacer, each with its window from the planner, until either has no more. */
async function* grantedWindows(job: CopyJob): AsyncGenerator<CopyItem> {
  for (;;) {
    const grant = await job.pacer.admit();
    if (!grant) return;
    let window: CopyWindow | undefined;
    try {
      window = job.signal.aborted ? undefined : await job.planner.next(grant.dataBytes, grant.holeBytes);
    } catch (error) {
      job.pacer.done(grant, 0);
      throw error;
    }
    if (!window) {
      job.pacer.done(grant, 0);
      return;
    }
    yield { grant, window };
  }
}

/**
 * The background copy: `concurrency` workers (core's runPool) take windows from the planner in
 * order and copy each while holding the region lock on exactly that window, so a client write
 * overlapping it waits until the window is on the secondary, and the window waits for client
 * writes already in flight over it. Hence the copy never puts data older than a completed client
 * write onto the secondary. Resolves when every window is copied; rejects with the first failure
 * (or the abort reason) after all workers have stopped.
 */
export async function runBackgroundCopy(job: CopyJob): Promise<void> {
  // One buffer per worker for the whole copy: no allocation per chunk.
  const buffers: Uint8Array[] = [];
  const copyWindow = async ({ grant, window }: CopyItem, worker: number): Promise<void> => {
    const ownBuffer = (): Uint8Array => (buffers[worker] ??= new Uint8Array(job.chunk));
    // While clients are busy, the read and the write of a chunk each run on their own turn of the
    // event loop: a client request handled in between never waits behind the copy's memory copies.
    const pause = grant.busy ? nextTurn : undefined;
    let copied = 0;
    try {
      const held = job.lock.acquire(window.start, window.end);
      const release = typeof held === 'function' ? held : await held;
      try {
        if (window.hole) {
          copied = await copyHole(job.pair, window, ownBuffer, pause);
        } else {
          await job.pair.copyRange(window.start, window.end, ownBuffer(), pause);
          copied = window.end - window.start;
        }
      } finally {
        release();
      }
      job.onCopied(window.end - window.start);
    } finally {
      job.pacer.done(grant, copied);
    }
  };
  await runPool(job.concurrency, grantedWindows(job), copyWindow, job.signal, ({ grant }) => {
    job.pacer.done(grant, 0);
  });
}
