import type { BlockTaker } from './block-scheduler.js';
import type { Scatter } from './scatter.js';
import { asError } from './transport.js';

/**
 * One read's wait for the blocks the cache did not have: copies each into the read's buffers the
 * moment it is whole, and settles once every block has come or failed (never before: a block still
 * on its way must not be copied into buffers the caller has back). Then it seals the buffers, and
 * rejects with the failure of the first failed block, if any.
 */
export class ReadWaiter implements BlockTaker {
  readonly #sink: Scatter;
  readonly #blockSize: number;
  #left = 0;
  /** The first failed block and its error. */
  #failedIndex = -1;
  #error: Error | undefined;
  #settle: { resolve: () => void; reject: (error: Error) => void } | undefined;

  constructor(sink: Scatter, blockSize: number) {
    this.#sink = sink;
    this.#blockSize = blockSize;
  }

  /** One more block to wait for (before it can come: `want` it after this). */
  expect(): void {
    this.#left++;
  }

  get waiting(): boolean {
    return this.#left > 0;
  }

  take(index: number, block: Uint8Array): void {
    this.#sink.copy(index * this.#blockSize, block);
    this.#done();
  }

  fail(index: number, error: unknown): void {
    if (this.#failedIndex < 0 || index < this.#failedIndex) {
      this.#failedIndex = index;
      this.#error = asError(error);
    }
    this.#done();
  }

  /** Settles when every expected block has come or failed. */
  wait(): Promise<void> {
    if (this.#left === 0) return this.#finish();
    return new Promise((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
  }

  #done(): void {
    if (--this.#left > 0 || this.#settle === undefined) return;
    this.#sink.seal();
    if (this.#failedIndex < 0) this.#settle.resolve();
    else this.#settle.reject(this.#error!);
  }

  #finish(): Promise<void> {
    this.#sink.seal();
    return this.#failedIndex < 0 ? Promise.resolve() : Promise.reject(this.#error!);
  }
}
