import type { EngineKind } from './engine.js';

/** A snapshot of the allocator, for checks and tests. */
export interface BlockFileStats {
  readonly engine: EngineKind;
  readonly blockSize: number;
  /** Bytes up to the end of the last block ever handed out (`size()`). */
  readonly size: number;
  /** Offset of the first user block. */
  readonly firstBlock: number;
  /** Free blocks, sorted (freed since the last flush included). */
  readonly free: readonly number[];
  /** Blocks holding the committed free list (or a failed commit's): neither free nor allocated. */
  readonly freeListPages: readonly number[];
  /** Number of commits (flushes that changed the allocator) this file has seen. */
  readonly seq: number;
  readonly liveLeases: number;
}
