import { ceilTo, floorTo, type DevicePair } from './device-pair.js';

/**
 * A byte range [start, end) of the device for one step of the background copy. A `hole` window
 * looked unmapped on the primary when it was planned; that is only a hint, re-checked under the
 * region lock, because a client may write there before the copy gets to it.
 */
export interface CopyWindow {
  readonly start: number;
  readonly end: number;
  readonly hole: boolean;
}

/**
 * Hands out consecutive windows covering the device exactly once, in order. Each call says how
 * big a window may be: data windows at most `dataBytes`, hole windows at most `holeBytes` (both
 * rounded down to whole grains, at least one grain); no window runs past the end (the last one is
 * clamped, whatever the device size). Calls are serialised, so concurrent workers each get a
 * distinct window.
 */
export class CopyPlanner {
  #cursor = 0;
  #queue: Promise<unknown> = Promise.resolve();
  /** Where the mapped run or hole the cursor is in was last seen to end (hints, see CopyWindow). */
  #mappedUntil = 0;
  #holeUntil = 0;

  constructor(private readonly pair: DevicePair) {}

  /** Bytes handed out so far. */
  get planned(): number {
    return this.#cursor;
  }

  next(dataBytes: number, holeBytes: number): Promise<CopyWindow | undefined> {
    const { grain } = this.pair;
    const data = Math.max(grain, floorTo(dataBytes, grain));
    const hole = Math.max(grain, floorTo(holeBytes, grain));
    const window = this.#queue.then(() => this.#plan(data, hole));
    this.#queue = window.catch(() => undefined);
    return window;
  }

  async #plan(dataBytes: number, holeBytes: number): Promise<CopyWindow | undefined> {
    const { bytes, grain } = this.pair;
    const start = this.#cursor;
    if (start >= bytes) return undefined;
    const dataEnd = Math.min(bytes, start + dataBytes);
    let window: CopyWindow = { start, end: dataEnd, hole: false };
    if (this.pair.primarySeekable) {
      // One seek per run, not per window: a device may answer in time proportional to the run.
      if (start >= this.#mappedUntil && start >= this.#holeUntil) {
        this.#mappedUntil = await this.pair.primaryUnmappedFrom(start);
        if (this.#mappedUntil === start) this.#holeUntil = floorTo(await this.pair.primaryMappedFrom(start), grain);
      }
      if (this.#mappedUntil > start) {
        window = { start, end: Math.min(dataEnd, ceilTo(this.#mappedUntil, grain)), hole: false };
      } else if (this.#holeUntil > start) {
        window = { start, end: Math.min(this.#holeUntil, start + holeBytes), hole: true };
      }
      // Otherwise the zero run is shorter than one sector of the coarser device: copied as data.
    }
    this.#cursor = window.end;
    return window;
  }
}
