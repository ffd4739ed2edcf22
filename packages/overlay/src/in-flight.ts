import { settled } from '@blk/core';
/** Counts requests in flight so that `disconnect` can wait for them to settle. */
export class InFlight {
  #count = 0;
  #waiters: (() => void)[] = [];

  /** One more request in flight; the caller must call `leave` once it settles. */
  enter(): void {
    this.#count++;
  }

  /** Counts `work` (started now) until it settles; passes its outcome on. */
  track<T>(work: Promise<T>): Promise<T> {
    this.#count++;
    return work.then(
      (value) => {
        this.leave();
        return value;
      },
      (error: unknown) => {
        this.leave();
        throw error;
      },
    );
  }

  /** Runs `work` counted as in flight; a synchronous throw becomes a rejection. */
  run<T>(work: () => Promise<T>): Promise<T> {
    return this.track(settled(work));
  }

  drained(): Promise<void> {
    if (this.#count === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  leave(): void {
    if (--this.#count > 0 || this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
