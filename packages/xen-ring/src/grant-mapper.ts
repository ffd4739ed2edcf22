import { GrantError, type GrantTable } from './grant-table.js';

interface Cached {
  frame: number;
  writable: boolean;
}

/**
 * The backend's mappings of a frontend's grants. Without persistent grants every mapping is
 * temporary: the caller collects the references and `release`s them once the I/O is done, before
 * the response is pushed. With persistent grants a mapping is kept (up to `capacity` references)
 * and reused by later requests until `releaseAll` at disconnect, as Linux blkback does.
 */
export class GrantMapper {
  readonly #grants: GrantTable;
  readonly #domid: number;
  readonly #persistent: boolean;
  readonly #capacity: number;
  readonly #cache = new Map<number, Cached>();

  constructor(grants: GrantTable, domid: number, persistent: boolean, capacity = 4096) {
    this.#grants = grants;
    this.#domid = domid;
    this.#persistent = persistent;
    this.#capacity = capacity;
  }

  /** References kept mapped for reuse. */
  get cached(): number {
    return this.#cache.size;
  }

  /**
   * Maps `ref` (writable when the backend will write into the page). Returns the frame, or a
   * negative GrantError. Temporary mappings are appended to `temporary` for `release`.
   */
  map(ref: number, writable: boolean, temporary: number[]): number {
    if (!this.#persistent) {
      const frame = this.#grants.map(ref, this.#domid, writable);
      if (frame >= 0) temporary.push(ref);
      return frame;
    }
    const hit = this.#cache.get(ref);
    if (hit !== undefined) {
      if (!writable || hit.writable) return hit.frame;
      const frame = this.#grants.map(ref, this.#domid, true);
      if (frame < 0) return frame;
      this.#grants.unmap(ref);
      hit.frame = frame;
      hit.writable = true;
      return frame;
    }
    // Persistent grants are normally writable: take the widest mapping the grant allows.
    let frame = this.#grants.map(ref, this.#domid, true);
    let mappedWritable = true;
    if (frame === GrantError.READ_ONLY && !writable) {
      frame = this.#grants.map(ref, this.#domid, false);
      mappedWritable = false;
    }
    if (frame < 0) return frame;
    if (this.#cache.size < this.#capacity) {
      this.#cache.set(ref, { frame, writable: mappedWritable });
    } else {
      temporary.push(ref);
    }
    return frame;
  }

  release(refs: readonly number[]): void {
    for (const ref of refs) this.#grants.unmap(ref);
  }

  /** Drops every kept mapping (at disconnect, when no request is in flight). */
  releaseAll(): void {
    for (const ref of this.#cache.keys()) this.#grants.unmap(ref);
    this.#cache.clear();
  }
}
