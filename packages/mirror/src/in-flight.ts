/**
 * Counts client requests in flight (so that `disconnect` can wait for them to settle) and how many
 * have started in all, which is the load the background copy adapts to (see CopyPacer). Counting
 * rather than reading the clock keeps the cost per request to an increment.
 */
export class InFlight {
  #count = 0;
  #started = 0;
  #waiters: (() => void)[] = [];

  /** Requests in flight now. */
  get count(): number {
    return this.#count;
  }

  /** Requests started since the mirror was made. */
  get started(): number {
    return this.#started;
  }

  enter(): void {
    this.#count++;
    this.#started++;
  }

  leave(): void {
    if (--this.#count > 0) return;
    if (this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Runs `work` counted as in flight. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    this.enter();
    try {
      return await work();
    } finally {
      this.leave();
    }
  }

  /** Resolves once no request is in flight. */
  drained(): Promise<void> {
    if (this.#count === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
