import type { BlockError } from '@blk/core';

/**
 * A `percent` event: the whole percentage of the device copied, the bytes behind it, the copy's
 * recent rate and, once a rate is known, an estimate of the time left at that rate.
 */
export interface PercentProgress {
  readonly type: 'percent';
  readonly percent: number;
  /** Bytes of the device copied so far (holes count as copied once zeroed or skipped). */
  readonly bytesCopied: number;
  readonly bytesTotal: number;
  /** Bytes per second over about the last second (since the start, within the first second); 0 at first. */
  readonly bytesPerSecond: number;
  /** (bytesTotal − bytesCopied) / bytesPerSecond; absent while the rate is 0. */
  readonly secondsLeft?: number;
}

/**
 * What `onProgress` receives: a `percent` event each time the whole percentage of the device
 * copied changes, starting at 0 and rising to 100; then exactly one `complete` when the mirror is
 * in sync, or one `failed` when the copy stops for good (a child failed, or the mirror was
 * disconnected first). After `complete`, a `failed` follows only if the secondary later fails a
 * mirrored write.
 */
export type MirrorProgress = PercentProgress | { readonly type: 'complete' } | { readonly type: 'failed'; readonly error: BlockError };

export type ProgressListener = (event: MirrorProgress) => void;

/** The rate is measured over windows of about this long. */
const RATE_WINDOW_MS = 1000;

/** Turns bytes copied into the event sequence above. */
export class ProgressReporter {
  readonly #total: number;
  readonly #listener: ProgressListener | undefined;
  #percent = -1;
  #done = 0;
  #failed = false;
  #started = 0;
  /** Start of the current rate window, and bytes done then. */
  #windowAt = 0;
  #windowDone = 0;
  /** Rate over the last complete window (undefined before the first one ends). */
  #lastRate: number | undefined;

  constructor(total: number, listener: ProgressListener | undefined) {
    this.#total = total;
    this.#listener = listener;
  }

  start(): void {
    this.#started = this.#windowAt = performance.now();
    this.#report(0);
  }

  add(bytes: number): void {
    this.#done += bytes;
    const now = performance.now();
    if (now - this.#windowAt >= RATE_WINDOW_MS) {
      this.#lastRate = ((this.#done - this.#windowDone) * 1000) / (now - this.#windowAt);
      this.#windowAt = now;
      this.#windowDone = this.#done;
    }
    // Below the total the answer stays under 100 even if the division rounds up.
    const percent = this.#done >= this.#total ? 100 : Math.min(99, Math.floor((this.#done / this.#total) * 100));
    this.#report(percent);
  }

  complete(): void {
    this.#report(100);
    this.#emit({ type: 'complete' });
  }

  failed(error: BlockError): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#emit({ type: 'failed', error });
  }

  /** Bytes per second: over the last complete window, or since the start within the first. */
  get bytesPerSecond(): number {
    if (this.#lastRate !== undefined) return this.#lastRate;
    const elapsed = performance.now() - this.#started;
    return elapsed > 0 ? (this.#done * 1000) / elapsed : 0;
  }

  #report(percent: number): void {
    if (percent <= this.#percent) return;
    this.#percent = percent;
    if (!this.#listener) return;
    const bytesPerSecond = this.#done === 0 ? 0 : this.bytesPerSecond;
    const left = this.#total - this.#done;
    this.#emit({
      type: 'percent',
      percent,
      bytesCopied: this.#done,
      bytesTotal: this.#total,
      bytesPerSecond,
      ...(bytesPerSecond > 0 ? { secondsLeft: left / bytesPerSecond } : {}),
    });
  }

  #emit(event: MirrorProgress): void {
    try {
      this.#listener?.(event);
    } catch {
      // A throwing listener must not stop the mirror or change its state; it is the caller's bug.
    }
  }
}
