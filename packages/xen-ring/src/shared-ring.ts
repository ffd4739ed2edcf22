import { PAGE_SIZE } from './blkif-constants.js';
import { SLOT_SIZE } from './blkif-codec.js';

// ring.h's `struct blkif_sring`: a 64-byte header of four free-running u32 indices (plus a private
// union and padding), then the slots. Indices are only touched with Atomics (sequentially
// consistent, which covers the write and full barriers of the C macros); every difference between
// indices is taken modulo 2^32 with `>>> 0`.

export const HEADER_SIZE = 64;
/** Int32 word positions of the indices in the header. */
export const REQ_PROD = 0;
export const REQ_EVENT = 1;
export const RSP_PROD = 2;
export const RSP_EVENT = 3;

/** Largest ring order (pages = 2^order) this package maps. */
export const MAX_RING_PAGE_ORDER = 4;

/** Slots in a ring of `2^order` pages: (bytes − 64) / 112 rounded down to a power of two. */
export function ringEntries(order: number): number {
  if (!Number.isInteger(order) || order < 0 || order > MAX_RING_PAGE_ORDER) {
    throw new RangeError(`ring page order must be an integer from 0 to ${MAX_RING_PAGE_ORDER}, got ${order}`);
  }
  const fit = Math.floor(((PAGE_SIZE << order) - HEADER_SIZE) / SLOT_SIZE);
  return 2 ** Math.floor(Math.log2(fit));
}

/** Where a ring lives: `2^order` contiguous pages of a SharedArrayBuffer. */
export interface RingArea {
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  readonly order: number;
}

/** True when the producer must notify: the consumer's event index lies in (old, new]. */
export function notifyNeeded(oldProd: number, newProd: number, event: number): boolean {
  return (newProd - event) >>> 0 < (newProd - oldProd) >>> 0;
}

/** Header and slot access common to both ends. */
export class SharedRing {
  /** The ring bytes, for reading and writing slots (little-endian). */
  readonly view: DataView;
  readonly entries: number;
  protected readonly header: Int32Array;
  readonly #mask: number;

  constructor(area: RingArea) {
    this.entries = ringEntries(area.order);
    this.#mask = this.entries - 1;
    const bytes = PAGE_SIZE << area.order;
    if (area.byteOffset % PAGE_SIZE !== 0 || area.byteOffset + bytes > area.buffer.byteLength) {
      throw new RangeError('ring area must be whole pages inside its buffer');
    }
    this.view = new DataView(area.buffer, area.byteOffset, bytes);
    this.header = new Int32Array(area.buffer, area.byteOffset, HEADER_SIZE / 4);
  }

  /** Byte offset in `view` of the slot that index `idx` (any u32) refers to. */
  slotOffset(idx: number): number {
    return HEADER_SIZE + (idx & this.#mask) * SLOT_SIZE;
  }

  /** The shared index at header word `word`, as a u32. */
  load(word: number): number {
    return Atomics.load(this.header, word) >>> 0;
  }

  store(word: number, value: number): void {
    Atomics.store(this.header, word, value | 0);
  }
}
