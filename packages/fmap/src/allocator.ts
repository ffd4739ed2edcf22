import { FmapError } from './fmap-error.js';

/** What the allocator holds at a commit: the file's committed state, read from its header. */
export interface AllocatorState {
  readonly blockSize: number;
  readonly highWater: number;
  /** The high-water mark of the last commit (0 for a file that never commits). */
  readonly committedHighWater: number;
  /** The committed free list. */
  readonly free: readonly number[];
  /** Pages holding the committed free list. */
  readonly metaPages: readonly number[];
}

/** The pages chosen for one commit's free list and the entries they are to hold. */
export interface CommitPlan {
  readonly pages: readonly number[];
  readonly entries: readonly number[];
}

/**
 * A BlockFile's allocator bookkeeping, without a file: which blocks are free now, which wait for the
 * next commit, which hold the free list, and where the end is. `reserve(end)` is called before the
 * high-water mark moves to `end` (the BlockFile grows its storage there); if it throws, nothing changes.
 */
export class Allocator {
  readonly blockSize: number;
  readonly #reserve: (end: number) => void;
  #highWater: number;
  /**
   * Blocks at or past this were not allocated at the last commit (nor at a failed commit whose
   * header may have landed).
   */
  #committedHighWater: number;
  /** Free blocks that may be handed out now, used as a stack (LIFO like fs2). */
  #free: number[];
  /** Free blocks, including those freed since the last commit. */
  readonly #freeSet: Set<number>;
  /** Blocks allocated at the last commit and freed since: reusable only after the next commit. */
  #pending: number[] = [];
  /**
   * Blocks free at the last commit and handed out since (so freeing them again is immediate);
   * emptied by a commit, and by a failed one whose header may have landed.
   */
  readonly #reused = new Set<number>();
  /** Pages holding the committed free list. */
  #metaPages: number[];
  /**
   * Pages of a commit whose header write failed part way: that header may yet be on disk, so
   * they stay untouched until a later commit replaces it, and are free from then on.
   */
  #limbo: number[] = [];
  #metaSet: Set<number>;

  constructor(state: AllocatorState, reserve: (end: number) => void) {
    this.blockSize = state.blockSize;
    this.#reserve = reserve;
    this.#highWater = state.highWater;
    this.#committedHighWater = state.committedHighWater;
    this.#free = [...state.free];
    this.#freeSet = new Set(state.free);
    this.#metaPages = [...state.metaPages];
    this.#metaSet = new Set(state.metaPages);
  }

  get highWater(): number {
    return this.#highWater;
  }

  /** True when `offset` is free (or freed since the last commit). */
  isFree(offset: number): boolean {
    return this.#freeSet.has(offset);
  }

  /** True when `offset` holds the free list (committed, or of a failed commit). */
  isMeta(offset: number): boolean {
    return this.#metaSet.has(offset);
  }

  /** `blocks` new blocks at the end; returns the first one's offset. */
  grow(blocks: number): number {
    const start = this.#highWater;
    this.#reserve(start + blocks * this.blockSize);
    this.#highWater = start + blocks * this.blockSize;
    return start;
  }

  /** The block `allocate()` would reuse, or undefined when it would grow the file. */
  peekReuse(): number | undefined {
    return this.#free.at(-1);
  }

  /** Hands out one block: the most recently freed one, else a new one at the end. */
  allocate(): number {
    const reuse = this.#free.pop();
    if (reuse === undefined) return this.grow(1);
    this.#freeSet.delete(reuse);
    if (reuse < this.#committedHighWater) this.#reused.add(reuse);
    return reuse;
  }

  /** Gives one allocated block back (the caller has checked it is an allocated block offset). */
  free(offset: number): void {
    if (this.#freeSet.has(offset)) throw new FmapError('E_DOUBLE_FREE', `block ${offset} is already free`);
    if (this.#metaSet.has(offset)) throw new FmapError('E_DOUBLE_FREE', `block ${offset} is free (it holds the free list)`);
    this.#freeSet.add(offset);
    if (offset >= this.#committedHighWater || this.#reused.has(offset)) {
      this.#reused.delete(offset);
      this.#free.push(offset);
    } else {
      this.#pending.push(offset);
    }
  }

  /**
   * Chooses the pages for the next free list (free blocks first, else new ones at the end), enough
   * for every entry left after taking them. When `reserve` throws, the pages taken are free again.
   */
  planCommit(entriesPerPage: number): CommitPlan {
    const pages: number[] = [];
    let total = this.#free.length + this.#pending.length + this.#metaPages.length + this.#limbo.length;
    try {
      while (pages.length < Math.ceil(total / entriesPerPage)) {
        const reuse = this.#free.pop();
        if (reuse !== undefined) {
          this.#freeSet.delete(reuse);
          total--;
          pages.push(reuse);
        } else {
          pages.push(this.grow(1));
        }
      }
    } catch (error) {
      this.abandonCommit({ pages, entries: [] }, false);
      throw error;
    }
    return { pages, entries: [...this.#free, ...this.#pending, ...this.#metaPages, ...this.#limbo] };
  }

  /** The plan's header is on disk: its entries are the free list, its pages hold it. */
  commit(plan: CommitPlan): void {
    for (const offset of this.#metaPages) this.#freeSet.add(offset);
    for (const offset of this.#limbo) this.#freeSet.add(offset);
    this.#limbo = [];
    this.#free = [...plan.entries];
    this.#pending = [];
    this.#reused.clear();
    this.#metaPages = [...plan.pages];
    this.#metaSet = new Set(plan.pages);
    this.#committedHighWater = this.#highWater;
  }

  /**
   * The plan was not committed: its pages are free again. Once the header write has begun it may
   * yet reach the disk, so those pages wait in limbo for the next commit, and every block this
   * commit holds as allocated counts as committed: freeing one must wait for the next commit too,
   * or a recovery from this header would find it reused.
   */
  abandonCommit(plan: CommitPlan, headerStarted: boolean): void {
    if (headerStarted) {
      this.#committedHighWater = this.#highWater;
      this.#reused.clear();
    }
    for (const offset of plan.pages) {
      if (headerStarted) {
        this.#limbo.push(offset);
        this.#metaSet.add(offset);
      } else {
        this.#free.push(offset);
        this.#freeSet.add(offset);
      }
    }
  }

  /** Free blocks, sorted (freed since the last commit included). */
  freeBlocks(): number[] {
    return [...this.#freeSet].sort((a, b) => a - b);
  }

  /** Blocks holding the committed free list (or a failed commit's), sorted. */
  freeListPages(): number[] {
    return [...this.#metaPages, ...this.#limbo].sort((a, b) => a - b);
  }
}
