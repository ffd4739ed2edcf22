import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';

/**
 * Paces the background copy. The copy gives the event loop a turn whenever it has run for
 * `sliceMs` since the last one (0: before every chunk), so client requests that are ready wait
 * at most about that long plus one chunk; with `bytesPerSecond` it also waits whenever it is ahead
 * of that average rate. Waits end early when `signal` aborts.
 */
export class Throttle {
  readonly #bytesPerSecond: number | undefined;
  readonly #sliceMs: number;
  readonly #signal: AbortSignal;
  readonly #start = performance.now();
  #lastTurn = Number.NEGATIVE_INFINITY;
  #bytes = 0;

  constructor(options: { bytesPerSecond: number | undefined; sliceMs: number }, signal: AbortSignal) {
    this.#bytesPerSecond = options.bytesPerSecond;
    this.#sliceMs = options.sliceMs;
    this.#signal = signal;
  }

  async turn(): Promise<void> {
    if (performance.now() - this.#lastTurn >= this.#sliceMs) {
      await nextTurn();
      this.#lastTurn = performance.now();
    }
    if (this.#bytesPerSecond === undefined || this.#signal.aborted) return;
    const due = this.#start + (this.#bytes / this.#bytesPerSecond) * 1000;
    const wait = due - performance.now();
    if (wait > 0) {
      await sleep(wait, undefined, { signal: this.#signal }).catch(() => undefined);
      this.#lastTurn = performance.now();
    }
  }

  /** Counts bytes copied, which the rate applies to. */
  account(bytes: number): void {
    this.#bytes += bytes;
  }
}
