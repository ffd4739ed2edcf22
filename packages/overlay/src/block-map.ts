import { BLOCKS_PER_MAP_BYTE } from './layout.js';
import { OverlayError } from './overlay-error.js';

/** A block the top has never taken over: it reads from the base. */
export const BASE = 0;
/** A block whose whole content is in the top's data region. */
export const DATA = 1;
/** A block that reads as zeroes whatever the base and the top's data region hold. */
export const ZERO = 2;
export type BlockState = typeof BASE | typeof DATA | typeof ZERO;

/** One map piece as written to the top: its index and its encoded bytes. */
export interface MapPiece {
  readonly index: number;
  readonly bytes: Uint8Array;
}

/**
 * The state of every block, one byte each in memory, two bits each on the top. Changes mark the
 * map piece (`pieceBytes` of the on-top map) they fall in as dirty; `takeDirty` encodes those
 * pieces as they are at that moment, for a flush to write.
 */
export class BlockMap {
  readonly states: Uint8Array;
  readonly #pieceBytes: number;
  readonly #blocksPerPiece: number;
  readonly #dirty = new Set<number>();

  constructor(blocks: number, pieceBytes: number) {
    this.states = new Uint8Array(blocks);
    this.#pieceBytes = pieceBytes;
    this.#blocksPerPiece = pieceBytes * BLOCKS_PER_MAP_BYTE;
  }

  get blocks(): number {
    return this.states.length;
  }

  get dirtyPieces(): number {
    return this.#dirty.size;
  }

  /** Sets blocks [from, to) to `state`, marking the pieces that changed. */
  set(from: number, to: number, state: BlockState): void {
    const states = this.states;
    for (let block = from; block < to; block++) {
      if (states[block] === state) continue;
      states[block] = state;
      this.#dirty.add(Math.floor(block / this.#blocksPerPiece));
    }
  }

  /** The end of the run of blocks in the same state as `from`, at most `to`. */
  runEnd(from: number, to: number): number {
    const states = this.states;
    const state = states[from];
    let block = from + 1;
    while (block < to && states[block] === state) block++;
    return block;
  }

  /** The first block in [from, blocks) whose state is `state`, or `blocks`. */
  next(state: BlockState, from: number): number {
    if (from >= this.states.length) return this.states.length;
    const at = this.states.subarray(from).indexOf(state);
    return at < 0 ? this.states.length : from + at;
  }

  /** The first block in [from, blocks) whose state is not `state`, or `blocks`. */
  nextOther(state: BlockState, from: number): number {
    let first = this.states.length;
    for (const other of [BASE, DATA, ZERO] as const) if (other !== state) first = Math.min(first, this.next(other, from));
    return first;
  }

  count(state: BlockState): number {
    let n = 0;
    for (const s of this.states) if (s === state) n++;
    return n;
  }

  /** Encodes and forgets the dirty pieces, as they are now. */
  takeDirty(): MapPiece[] {
    const pieces = [...this.#dirty].sort((a, b) => a - b).map((index) => ({ index, bytes: this.encodePiece(index) }));
    this.#dirty.clear();
    return pieces;
  }

  /** Marks pieces dirty again (their write failed). */
  markDirty(indexes: Iterable<number>): void {
    for (const index of indexes) this.#dirty.add(index);
  }

  encodePiece(index: number): Uint8Array {
    const bytes = new Uint8Array(this.#pieceBytes);
    const first = index * this.#blocksPerPiece;
    const end = Math.min(this.states.length, first + this.#blocksPerPiece);
    for (let block = first; block < end; block++) {
      const i = block - first;
      bytes[i >> 2]! |= this.states[block]! << ((i & 3) * 2);
    }
    return bytes;
  }

  /** Loads the states of `bytes`, the on-top map from its start; refuses unknown states and stray bits. */
  load(bytes: Uint8Array): void {
    const states = this.states;
    for (let i = 0; i < bytes.byteLength; i++) {
      const byte = bytes[i]!;
      if (byte === 0) continue;
      for (let k = 0; k < 4; k++) {
        const state = (byte >> (k * 2)) & 3;
        if (state === 0) continue;
        const block = i * 4 + k;
        if (state > ZERO || block >= states.length) {
          throw new OverlayError('INVALID_ARGUMENT', 'CORRUPT', `the top's map is damaged: entry ${block} holds ${state}`);
        }
        states[block] = state;
      }
    }
  }
}
