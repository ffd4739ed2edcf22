import type { BlockError } from '@blk/core';

/**
 * What `onProgress` receives: the whole percentage of the device copied, each time it changes,
 * starting at 0 and rising to 100; then exactly one `complete` when the mirror is in sync, or one
 * `failed` when the copy stops for good (a child failed, or the mirror was disconnected first).
 * After `complete`, a `failed` follows only if the secondary later fails a mirrored write.
 */
export type MirrorProgress =
  | { readonly type: 'percent'; readonly percent: number }
  | { readonly type: 'complete' }
  | { readonly type: 'failed'; readonly error: BlockError };

export type ProgressListener = (event: MirrorProgress) => void;

/** Turns bytes copied into the event sequence above. */
export class ProgressReporter {
  readonly #total: number;
  readonly #listener: ProgressListener | undefined;
  #percent = -1;
  #done = 0;
  #failed = false;

  constructor(total: number, listener: ProgressListener | undefined) {
    this.#total = total;
    this.#listener = listener;
  }

  start(): void {
    this.#report(0);
  }

  add(bytes: number): void {
    this.#done += bytes;
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

  #report(percent: number): void {
    if (percent <= this.#percent) return;
    this.#percent = percent;
    this.#emit({ type: 'percent', percent });
  }

  #emit(event: MirrorProgress): void {
    try {
      this.#listener?.(event);
    } catch {
      // A throwing listener must not stop the mirror or change its state; it is the caller's bug.
    }
  }
}
