import { BlockError } from '@blk/core';

/**
 * Counts a device's requests in flight and holds new ones back while an exclusive one (a resize)
 * runs: `request` waits for any barrier, `exclusive` waits for every request in flight first.
 */
export class RequestGate {
  readonly #name: string;
  #closed = false;
  /** Requests started and not finished; `idle` waiters run when it drops to 0. */
  #inFlight = 0;
  #idleWaiters: (() => void)[] = [];
  /** Set while an exclusive request waits for, then excludes, every other request. */
  #barrier: Promise<void> | undefined;

  constructor(name: string) {
    this.#name = name;
  }

  get closed(): boolean {
    return this.#closed;
  }

  begin(): void {
    this.#inFlight++;
  }

  end(): void {
    if (--this.#inFlight > 0 || this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }

  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** True when a request may start at once: open and no exclusive request pending. */
  ready(): boolean {
    return this.#barrier === undefined && !this.#closed;
  }

  /** Runs `work` as a tracked request, after any exclusive one in progress. */
  async request<T>(work: () => Promise<T>): Promise<T> {
    while (this.#barrier && !this.#closed) await this.#barrier;
    if (this.#closed) throw BlockError.disconnected(this.#name);
    this.begin();
    try {
      return await work();
    } finally {
      this.end();
    }
  }

  /** Waits for every request in flight, then runs `work` with new requests held back. */
  async exclusive(work: () => Promise<void>): Promise<void> {
    while (this.#barrier) await this.#barrier;
    if (this.#closed) throw BlockError.disconnected(this.#name);
    const run = (async () => {
      await this.idle();
      if (this.#closed) throw BlockError.disconnected(this.#name);
      await work();
    })();
    const barrier = run.then(
      () => undefined,
      () => undefined,
    );
    this.#barrier = barrier;
    try {
      await run;
    } finally {
      if (this.#barrier === barrier) this.#barrier = undefined;
    }
  }

  /** Refuses new requests and resolves once every request and exclusive run has finished. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([this.idle(), this.#barrier]);
  }
}
