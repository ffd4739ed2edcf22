import { FmapError } from './fmap-error.js';

/**
 * A view of `blocks` blocks at `offset`, from `BlockFile.get`. The bytes are the lease's own copy:
 * changes reach the file when the lease is released (durably at the next `flush()`), and after
 * release nothing written into the old bytes can reach the file.
 */
export class Lease implements Disposable {
  readonly offset: number;
  readonly blocks: number;
  #bytes: Uint8Array | undefined;
  readonly #onRelease: (lease: Lease, bytes: Uint8Array) => void;

  /** @internal made by BlockFile.get */
  constructor(offset: number, blocks: number, bytes: Uint8Array, onRelease: (lease: Lease, bytes: Uint8Array) => void) {
    this.offset = offset;
    this.blocks = blocks;
    this.#bytes = bytes;
    this.#onRelease = onRelease;
  }

  /** The leased blocks; throws E_RELEASED after `release()`. */
  get bytes(): Uint8Array {
    if (!this.#bytes) throw new FmapError('E_RELEASED', `lease of block ${this.offset} was released`);
    return this.#bytes;
  }

  get released(): boolean {
    return this.#bytes === undefined;
  }

  /** Writes changes back and ends the lease. A second release throws E_RELEASED. */
  release(): void {
    const bytes = this.#bytes;
    if (!bytes) throw new FmapError('E_RELEASED', `lease of block ${this.offset} was already released`);
    this.#bytes = undefined;
    this.#onRelease(this, bytes);
  }

  /** `using lease = file.get(…)`: releases unless already released. */
  [Symbol.dispose](): void {
    if (this.#bytes) this.release();
  }
}

const SLAB_BYTES = 256 * 1024;
const OWN_BUFFER_BYTES = 64 * 1024;

/**
 * Hands out lease buffers carved from slabs that are never reused, so a stale view of a released
 * lease can only ever scribble on memory nobody reads.
 */
export class LeaseBuffers {
  #slab = new ArrayBuffer(0);
  #used = 0;

  take(length: number): Uint8Array {
    if (length >= OWN_BUFFER_BYTES) return new Uint8Array(length);
    if (this.#used + length > this.#slab.byteLength) {
      this.#slab = new ArrayBuffer(SLAB_BYTES);
      this.#used = 0;
    }
    const view = new Uint8Array(this.#slab, this.#used, length);
    this.#used += length;
    return view;
  }
}
