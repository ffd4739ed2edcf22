/** Fetches blocks [first, first + count) and hands each one to `deliver` as soon as it is whole. */
export type RunFetcher = (first: number, count: number, deliver: (index: number, block: Uint8Array) => void) => Promise<void>;

/** A read waiting for blocks: each one it wants is handed to it once, whole or failed. */
export interface BlockTaker {
  /** The block is whole: copy what is needed now (it may be reused later). */
  take(index: number, block: Uint8Array): void;
  /** The block will not come. */
  fail(index: number, error: unknown): void;
}

interface Pending {
  state: 'queued' | 'flight';
  /** Some read waits for it (else it was only read ahead). */
  demanded: boolean;
  /** The run fetching it, once in flight. */
  run: number;
  /** The reads waiting for it (none when it is only read ahead). */
  readonly takers: BlockTaker[];
}

/** A FIFO of block indexes; entries may be stale (already fetched), the reader skips them. */
class IndexQueue {
  #items: number[] = [];
  #head = 0;

  push(index: number): void {
    this.#items.push(index);
  }

  shift(): number | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const index = this.#items[this.#head++]!;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return index;
  }

  clear(): void {
    this.#items = [];
    this.#head = 0;
  }
}

export interface SchedulerLimits {
  /** Runs in flight at once. */
  readonly concurrency: number;
  /** Blocks one run may cover. */
  readonly maxBlocks: number;
}

/**
 * Which blocks are wanted and which are being fetched. At most `concurrency` runs are in flight;
 * each takes the oldest wanted block (reads before read-ahead) and every queued block adjacent to
 * it, up to `maxBlocks`: requests that arrive while all runs are busy are coalesced into one
 * range request. A block is fetched once however many reads wait for it.
 */
export class BlockScheduler {
  readonly #fetchRun: RunFetcher;
  readonly #limits: SchedulerLimits;
  readonly #pending = new Map<number, Pending>();
  readonly #demand = new IndexQueue();
  readonly #ahead = new IndexQueue();
  #inFlight = 0;
  #runs = 0;

  constructor(fetchRun: RunFetcher, limits: SchedulerLimits) {
    this.#fetchRun = fetchRun;
    this.#limits = limits;
  }

  /** Runs in flight now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Blocks queued or being fetched. */
  get pendingBlocks(): number {
    return this.#pending.size;
  }

  /**
   * Hands the block to `taker` the moment it is fetched (this fetch may be one already under way),
   * or its failure. Call `pump()` after a batch.
   */
  want(index: number, taker: BlockTaker): void {
    const known = this.#pending.get(index);
    if (known === undefined) {
      this.#demand.push(index);
      this.#add(index, true).takers.push(taker);
      return;
    }
    known.takers.push(taker);
    if (known.state === 'queued' && !known.demanded) {
      known.demanded = true;
      this.#demand.push(index);
    }
  }

  /** Queues the block to be read ahead unless it is already on its way. Call `pump()` after a batch. */
  prefetch(index: number): void {
    if (this.#pending.has(index)) return;
    this.#ahead.push(index);
    this.#add(index, false);
  }

  /** Starts runs while there are free slots and queued blocks. */
  pump(): void {
    while (this.#inFlight < this.#limits.concurrency) {
      const first = this.#next();
      if (first === undefined) return;
      let lo = first;
      let hi = first + 1;
      while (hi - lo < this.#limits.maxBlocks && this.#queued(hi)) hi++;
      while (hi - lo < this.#limits.maxBlocks && this.#queued(lo - 1)) lo--;
      this.#start(lo, hi - lo);
    }
  }

  /** Rejects every queued and in-flight block with `error` and forgets them. */
  failAll(error: unknown): void {
    const pending = [...this.#pending];
    this.#pending.clear();
    this.#demand.clear();
    this.#ahead.clear();
    for (const [index, p] of pending) for (const taker of p.takers) taker.fail(index, error);
  }

  #add(index: number, demanded: boolean): Pending {
    const pending: Pending = { state: 'queued', demanded, run: -1, takers: [] };
    this.#pending.set(index, pending);
    return pending;
  }

  #queued(index: number): boolean {
    return this.#pending.get(index)?.state === 'queued';
  }

  #next(): number | undefined {
    return this.#nextOf(this.#demand) ?? this.#nextOf(this.#ahead);
  }

  #nextOf(queue: IndexQueue): number | undefined {
    for (let index = queue.shift(); index !== undefined; index = queue.shift()) {
      if (this.#queued(index)) return index;
    }
    return undefined;
  }

  #start(first: number, count: number): void {
    const run = ++this.#runs;
    for (let i = first; i < first + count; i++) {
      const p = this.#pending.get(i)!;
      p.state = 'flight';
      p.run = run;
    }
    this.#inFlight++;
    const deliver = (index: number, block: Uint8Array) => {
      const p = this.#pending.get(index);
      if (p?.run !== run) return;
      this.#pending.delete(index);
      for (const taker of p.takers) taker.take(index, block);
    };
    this.#fetchRun(first, count, deliver).then(
      () => this.#endRun(run, first, count, undefined),
      (error: unknown) => this.#endRun(run, first, count, error),
    );
  }

  #endRun(run: number, first: number, count: number, error: unknown): void {
    try {
      this.#settleRun(run, first, count, error ?? new Error(`run of blocks ${first}+${count} ended without delivering every block`));
    } finally {
      this.#inFlight--;
      this.pump();
    }
  }

  /** Fails what the run still owed (nothing, when it succeeded). */
  #settleRun(run: number, first: number, count: number, error: unknown): void {
    for (let i = first; i < first + count; i++) {
      const p = this.#pending.get(i);
      if (p?.run !== run) continue;
      this.#pending.delete(i);
      for (const taker of p.takers) taker.fail(i, error);
    }
  }
}
