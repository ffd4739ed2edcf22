/** Fetches blocks [first, first + count) and hands each one to `deliver` as soon as it is whole. */
export type RunFetcher = (first: number, count: number, deliver: (index: number, block: Uint8Array) => void) => Promise<void>;

interface Pending {
  state: 'queued' | 'flight';
  /** Some read waits for it (else it was only read ahead). */
  demanded: boolean;
  /** The run fetching it, once in flight. */
  run: number;
  /** Called with the block the moment it is whole, before anything else can reuse it. */
  readonly takers: ((block: Uint8Array) => void)[];
  /** What the reads waiting for it await; made by the first of them (a block only read ahead needs none). */
  waiting: { readonly promise: Promise<void>; readonly resolve: () => void; readonly reject: (error: unknown) => void } | undefined;
}

function settleable(): NonNullable<Pending['waiting']> {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
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
   * Hands the block to `take` the moment it is fetched (this fetch may be one already under way),
   * then resolves; `take` must copy what it needs (the block may be reused later). Call `pump()`
   * after a batch.
   */
  want(index: number, take: (block: Uint8Array) => void): Promise<void> {
    const known = this.#pending.get(index);
    if (known === undefined) {
      this.#demand.push(index);
      const added = this.#add(index, true);
      added.takers.push(take);
      return (added.waiting = settleable()).promise;
    }
    known.takers.push(take);
    known.waiting ??= settleable();
    if (known.state === 'queued' && !known.demanded) {
      known.demanded = true;
      this.#demand.push(index);
    }
    return known.waiting.promise;
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
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#demand.clear();
    this.#ahead.clear();
    for (const p of pending) p.waiting?.reject(error);
  }

  #add(index: number, demanded: boolean): Pending {
    const pending: Pending = { state: 'queued', demanded, run: -1, takers: [], waiting: undefined };
    this.#pending.set(index, pending);
    return pending;
  }

  #queued(index: number): boolean {
    return this.#pending.get(index)?.state === 'queued';
  }

  #next(): number | undefined {
    for (const queue of [this.#demand, this.#ahead]) {
      for (let index = queue.shift(); index !== undefined; index = queue.shift()) {
        if (this.#queued(index)) return index;
      }
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
      for (const take of p.takers) take(block);
      p.waiting?.resolve();
    };
    this.#fetchRun(first, count, deliver)
      .then(
        () => this.#settleRun(run, first, count, new Error(`run of blocks ${first}+${count} ended without delivering every block`)),
        (error: unknown) => this.#settleRun(run, first, count, error),
      )
      .finally(() => {
        this.#inFlight--;
        this.pump();
      })
      .catch(() => undefined);
  }

  /** Rejects what the run still owed (nothing, when it succeeded). */
  #settleRun(run: number, first: number, count: number, error: unknown): void {
    for (let i = first; i < first + count; i++) {
      const p = this.#pending.get(i);
      if (p?.run !== run) continue;
      this.#pending.delete(i);
      p.waiting?.reject(error);
    }
  }
}
