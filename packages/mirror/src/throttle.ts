import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';

/**
 * Paces the background copy. Every step first yields to the event loop, so client requests that
 * are ready run before the next chunk; with `bytesPerSecond` the copy also waits whenever it is
 * ahead of that average rate. Waits end early when `signal` aborts.
 */
export class Throttle {
  readonly #bytesPerSecond: number | undefined;
  readonly #signal: AbortSignal;
  readonly #start = performance.now();
  #bytes = 0;

  constructor(bytesPerSecond: number | undefined, signal: AbortSignal) {
    this.#bytesPerSecond = bytesPerSecond;
    this.#signal = signal;
  }

  async turn(): Promise<void> {
    await nextTurn();
    if (this.#bytesPerSecond === undefined || this.#signal.aborted) return;
    const due = this.#start + (this.#bytes / this.#bytesPerSecond) * 1000;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait, undefined, { signal: this.#signal }).catch(() => undefined);
  }

  /** Counts bytes copied, which the rate applies to. */
  account(bytes: number): void {
    this.#bytes += bytes;
  }
}
