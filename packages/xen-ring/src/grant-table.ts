import { PAGE_SIZE } from './blkif-constants.js';

// One grant entry is four Int32 words in a SharedArrayBuffer: STATE, DOMID, FRAME, spare. STATE
// packs the granter's flags (PERMIT, READONLY) with the mapper's count of live mappings
// (count << 2), so that a mapping and an end-of-access can never both succeed: each is a single
// compare-and-exchange of the same word.

const WORDS = 4;
const STATE = 0;
const DOMID = 1;
const FRAME = 2;
const PERMIT = 1;
const READONLY = 2;
const MAP_UNIT = 4;
const MAX_MAPS = 0x1fff_ffff;

/** Why `GrantTable.map` refused (negative results). */
export const GrantError = Object.freeze({
  BAD_REF: -1,
  NOT_GRANTED: -2,
  WRONG_DOMAIN: -3,
  READ_ONLY: -4,
  BAD_FRAME: -5,
  TOO_MANY_MAPPINGS: -6,
} as const);

/** Grant references below this are never handed out (as in Linux), so 0 is never valid. */
export const FIRST_GRANT_REF = 8;

/**
 * A domain's grant table over shared memory: the granting side (`grantAccess`, `endAccess`,
 * `allocateRef`) and the mapping side (`map`, `unmap`) use the same buffers from different
 * threads. The reference allocator is private to the instance that grants.
 */
export class GrantTable {
  readonly entries: number;
  readonly frames: number;
  readonly #words: Int32Array;
  readonly #freeRefs: number[] = [];

  constructor(table: SharedArrayBuffer, memory: SharedArrayBuffer) {
    this.#words = new Int32Array(table);
    this.entries = Math.floor(this.#words.length / WORDS);
    this.frames = Math.floor(memory.byteLength / PAGE_SIZE);
    for (let ref = this.entries - 1; ref >= FIRST_GRANT_REF; ref--) this.#freeRefs.push(ref);
  }

  /** A buffer for a table of `entries` grant entries (all revoked). */
  static allocate(entries: number): SharedArrayBuffer {
    return new SharedArrayBuffer(entries * WORDS * 4);
  }

  // ---- granting side ----

  /** Free references left in this instance's allocator. */
  get freeRefs(): number {
    return this.#freeRefs.length;
  }

  allocateRef(): number | undefined {
    return this.#freeRefs.pop();
  }

  /** Returns a reference whose access has ended to the allocator. */
  freeRef(ref: number): void {
    this.#freeRefs.push(ref);
  }

  /** Lets `domid` map `frame` (read-only if asked). The entry must be revoked. */
  grantAccess(ref: number, domid: number, frame: number, readonly: boolean): void {
    if (!this.#valid(ref)) throw new RangeError(`grant reference ${ref} out of range`);
    if (!Number.isInteger(frame) || frame < 0 || frame >= this.frames) throw new RangeError(`frame ${frame} out of range`);
    const base = ref * WORDS;
    if (Atomics.load(this.#words, base + STATE) !== 0) throw new Error(`grant reference ${ref} is in use`);
    Atomics.store(this.#words, base + DOMID, domid);
    Atomics.store(this.#words, base + FRAME, frame);
    Atomics.store(this.#words, base + STATE, PERMIT | (readonly ? READONLY : 0));
  }

  /** Revokes access unless the grant is mapped; false (and nothing changed) while it is. */
  endAccess(ref: number): boolean {
    if (!this.#valid(ref)) return false;
    const at = ref * WORDS + STATE;
    for (;;) {
      const state = Atomics.load(this.#words, at);
      if (state >>> 2 !== 0) return false;
      if (Atomics.compareExchange(this.#words, at, state, 0) === state) return true;
    }
  }

  /** Live mappings of `ref`. */
  mapCount(ref: number): number {
    return this.#valid(ref) ? Atomics.load(this.#words, ref * WORDS + STATE) >>> 2 : 0;
  }

  // ---- mapping side ----

  /**
   * Maps `ref` for `domid`, writable or not. Returns the frame (≥ 0) or a negative `GrantError`.
   * A successful map must be matched by `unmap`; until then the granter cannot end access.
   */
  map(ref: number, domid: number, writable: boolean): number {
    if (!this.#valid(ref)) return GrantError.BAD_REF;
    const base = ref * WORDS;
    for (;;) {
      const state = Atomics.load(this.#words, base + STATE);
      if ((state & PERMIT) === 0) return GrantError.NOT_GRANTED;
      if (writable && (state & READONLY) !== 0) return GrantError.READ_ONLY;
      if (state >>> 2 >= MAX_MAPS) return GrantError.TOO_MANY_MAPPINGS;
      if (Atomics.compareExchange(this.#words, base + STATE, state, state + MAP_UNIT) !== state) continue;
      // Read after taking the mapping: these are the values of the grant we now hold.
      const grantee = Atomics.load(this.#words, base + DOMID) >>> 0;
      const frame = Atomics.load(this.#words, base + FRAME);
      if (grantee !== domid >>> 0) {
        this.unmap(ref);
        return GrantError.WRONG_DOMAIN;
      }
      if (frame < 0 || frame >= this.frames) {
        this.unmap(ref);
        return GrantError.BAD_FRAME;
      }
      return frame;
    }
  }

  unmap(ref: number): void {
    if (!this.#valid(ref)) return;
    const at = ref * WORDS + STATE;
    for (;;) {
      const state = Atomics.load(this.#words, at);
      if (state >>> 2 === 0) return;
      if (Atomics.compareExchange(this.#words, at, state, state - MAP_UNIT) === state) return;
    }
  }

  #valid(ref: number): boolean {
    return Number.isInteger(ref) && ref >= FIRST_GRANT_REF && ref < this.entries;
  }
}
