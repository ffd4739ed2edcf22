import type { BlockError } from '@blk/core';
import { NO_PAGES, type LentPages } from './page-pool.js';

/** One caller request (read, write, flush, discard), carried by one or more ring requests. */
export class Operation {
  readonly buffers: readonly Uint8Array[];
  pending = 0;
  error: BlockError | undefined;
  readonly resolve: () => void;
  readonly reject: (error: BlockError) => void;

  constructor(buffers: readonly Uint8Array[], resolve: () => void, reject: (error: BlockError) => void) {
    this.buffers = buffers;
    this.resolve = resolve;
    this.reject = reject;
  }
}

/** One ring request: `bytes` of data at byte `offset` of its operation's buffers. */
export class Part {
  readonly op: number;
  /** In 512-byte units. */
  readonly sector: number;
  readonly bytes: number;
  /** For discard, in 512-byte units. */
  readonly nrSectors: number;
  readonly owner: Operation;
  readonly offset: number;
  /** The pool's pages carrying it while it is on the ring. */
  pages: LentPages = NO_PAGES;

  constructor(op: number, sector: number, bytes: number, nrSectors: number, owner: Operation, offset: number) {
    this.op = op;
    this.sector = sector;
    this.bytes = bytes;
    this.nrSectors = nrSectors;
    this.owner = owner;
    this.offset = offset;
  }
}
