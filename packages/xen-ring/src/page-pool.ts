import { FrameAllocator } from './frame-allocator.js';
import { PAGE_SIZE } from './blkif-constants.js';
import { copyBytesInto } from './shared-copy.js';
import type { SharedDomain } from './shared-domain.js';

const NONE: readonly number[] = Object.freeze([]);

/** Pages of the pool lent to one request, and their grants. */
export interface LentPages {
  /** Pool slots: the data pages, then the indirect pages. */
  readonly slots: readonly number[];
  /** Grant references to end when the request completes (none with persistent grants). */
  readonly grefs: readonly number[];
}

export const NO_PAGES: LentPages = Object.freeze({ slots: NONE, grefs: NONE });

export interface PagePoolOptions {
  readonly domain: SharedDomain;
  readonly backendDomid: number;
  /** Frames of `domain` reserved for data and indirect pages. */
  readonly frames: readonly number[];
  /** Grant every page once, writable, and keep the grants (`feature-persistent`). */
  readonly persistent: boolean;
}

/**
 * The frontend's pages for request data and indirect descriptors, and their grants to the
 * backend: granted per request (read-only where the backend only reads), or once for good with
 * persistent grants. A page whose grant the backend still maps when it comes back is quarantined
 * until the backend lets go.
 */
export class PagePool {
  readonly #domain: SharedDomain;
  readonly #backendDomid: number;
  readonly #frames: readonly number[];
  readonly #persistent: boolean;
  readonly #free: FrameAllocator;
  readonly #persistentGrefs: number[] = [];
  #quarantine: { ref: number; slot: number }[] = [];

  constructor(options: PagePoolOptions) {
    this.#domain = options.domain;
    this.#backendDomid = options.backendDomid;
    this.#frames = options.frames;
    this.#persistent = options.persistent;
    this.#free = new FrameAllocator(options.frames.length);
    if (this.#persistent) {
      for (const frame of options.frames) {
        const ref = this.#domain.grants.allocateRef();
        if (ref === undefined) throw new Error('grant table too small for the page pool');
        this.#domain.grants.grantAccess(ref, this.#backendDomid, frame, false);
        this.#persistentGrefs.push(ref);
      }
    }
  }

  /** Pages that could not be taken back because the backend still maps them. */
  get quarantined(): number {
    return this.#quarantine.length;
  }

  /** The frame of pool slot `slot`. */
  frame(slot: number): number {
    return this.#frames[slot]!;
  }

  /**
   * Lends `dataPages + indirectPages` pages, granted (data pages writable when `writable`, indirect
   * pages read-only); undefined, with nothing taken, when pages or grant references are short.
   */
  lend(dataPages: number, indirectPages: number, writable: boolean): LentPages | undefined {
    if (dataPages + indirectPages === 0) return NO_PAGES;
    if (this.#quarantine.length > 0) this.#retryQuarantine();
    const slots = this.#free.allocate(dataPages + indirectPages);
    if (!slots) return undefined;
    // Each pool page has its grant for good: look it up by slot.
    if (this.#persistent) return { slots, grefs: NONE };
    const grefs: number[] = [];
    const grants = this.#domain.grants;
    for (let i = 0; i < slots.length; i++) {
      const ref = grants.allocateRef();
      if (ref === undefined) {
        for (const r of grefs) {
          grants.endAccess(r);
          grants.freeRef(r);
        }
        this.#free.release(slots);
        return undefined;
      }
      // Data the backend only reads, and indirect pages, are granted read-only.
      grants.grantAccess(ref, this.#backendDomid, this.#frames[slots[i]!]!, !writable || i >= dataPages);
      grefs.push(ref);
    }
    return { slots, grefs };
  }

  /** The grant reference of page `i` of `pages`. */
  gref(pages: LentPages, i: number): number {
    return this.#persistent ? this.#persistentGrefs[pages.slots[i]!]! : pages.grefs[i]!;
  }

  /** Takes lent pages back: ends their grants, quarantining the pages the backend still maps. */
  takeBack(pages: LentPages): void {
    if (pages.slots.length === 0) return;
    if (this.#persistent) {
      this.#free.release(pages.slots);
      return;
    }
    const grants = this.#domain.grants;
    const free: number[] = [];
    for (let i = 0; i < pages.grefs.length; i++) {
      const ref = pages.grefs[i]!;
      if (grants.endAccess(ref)) {
        grants.freeRef(ref);
        free.push(pages.slots[i]!);
      } else {
        // The backend still maps it: the page must not be reused until it lets go.
        this.#quarantine.push({ ref, slot: pages.slots[i]! });
      }
    }
    this.#free.release(free);
  }

  /**
   * Ends the persistent grants, the grants of `outstanding` pages (the backend must have unmapped
   * them, i.e. closed its end) and the quarantined ones. Returns the grants it could not end.
   */
  release(outstanding: readonly LentPages[]): number {
    let stuck = 0;
    const grants = this.#domain.grants;
    for (const ref of this.#persistentGrefs) {
      if (grants.endAccess(ref)) grants.freeRef(ref);
      else stuck++;
    }
    this.#persistentGrefs.length = 0;
    for (const pages of outstanding) {
      for (const ref of pages.grefs) {
        if (grants.endAccess(ref)) grants.freeRef(ref);
        else stuck++;
      }
    }
    this.#retryQuarantine();
    return stuck + this.#quarantine.length;
  }

  /**
   * Copies `bytes` bytes from byte `offset` of `buffers` into the first data pages of `pages`
   * (`toPages`), or back out of them, a run of consecutive frames at a time.
   */
  copy(buffers: readonly Uint8Array[], offset: number, bytes: number, pages: LentPages, toPages: boolean): void {
    const memory = this.#domain.bytes;
    const frames = this.#frames;
    const slots = pages.slots;
    const dataPages = (bytes + PAGE_SIZE - 1) >> 12;
    // Find where the range starts in the buffer list.
    let b = 0;
    let inBuffer = offset;
    while (b < buffers.length && inBuffer >= buffers[b]!.byteLength) inBuffer -= buffers[b++]!.byteLength;
    let remaining = bytes;
    let page = 0;
    while (remaining > 0) {
      // A run of consecutive frames is one contiguous piece of memory.
      let run = 1;
      while (page + run < dataPages && frames[slots[page + run]!] === frames[slots[page]!]! + run) run++;
      let memAt = frames[slots[page]!]! * PAGE_SIZE;
      let runBytes = Math.min(run * PAGE_SIZE, remaining);
      remaining -= runBytes;
      page += run;
      while (runBytes > 0) {
        const buffer = buffers[b]!;
        const n = Math.min(runBytes, buffer.byteLength - inBuffer);
        if (toPages) copyBytesInto(memory, memAt, n === buffer.byteLength ? buffer : buffer.subarray(inBuffer, inBuffer + n));
        else copyBytesInto(buffer, inBuffer, memory.subarray(memAt, memAt + n));
        memAt += n;
        runBytes -= n;
        inBuffer += n;
        if (inBuffer === buffer.byteLength) {
          b++;
          inBuffer = 0;
        }
      }
    }
  }

  #retryQuarantine(): void {
    const grants = this.#domain.grants;
    const still: { ref: number; slot: number }[] = [];
    const free: number[] = [];
    for (const entry of this.#quarantine) {
      if (grants.endAccess(entry.ref)) {
        grants.freeRef(entry.ref);
        free.push(entry.slot);
      } else still.push(entry);
    }
    this.#quarantine = still;
    this.#free.release(free);
  }
}
