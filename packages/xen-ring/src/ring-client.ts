import { BlockError } from '@blk/core';
import { RESPONSE, RW, SEGMENT_SIZE, writeDiscard, writeIndirectHeader, writeRwHeader, writeSegment } from './blkif-codec.js';
import { BlkifOp, BlkifStatus, MAX_DIRECT_SEGMENTS, PAGE_SIZE, SECTOR_SHIFT, SEGMENTS_PER_INDIRECT_PAGE } from './blkif-constants.js';
import type { EventChannel } from './event-channel.js';
import type { FrontRing } from './front-ring.js';
import { NO_PAGES, PagePool } from './page-pool.js';
import type { Operation, Part } from './ring-operation.js';
import type { SharedDomain } from './shared-domain.js';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Parts at least this large are published as soon as they are on the ring. */
const EAGER_PUSH_BYTES = 64 * 1024;

export interface RingClientOptions {
  readonly domain: SharedDomain;
  readonly backendDomid: number;
  readonly ring: FrontRing;
  readonly channel: EventChannel;
  /** Frames of `domain` reserved for data and indirect pages. */
  readonly poolFrames: readonly number[];
  /** Grant every pool page once, writable, and keep the grants (`feature-persistent`). */
  readonly persistent: boolean;
  /** The `handle` field (virtual device number, low 16 bits). */
  readonly handle: number;
  /** How long (µs) to keep looking for responses from the event loop before sleeping (default 0). */
  readonly pollMicros?: number;
}

/**
 * The frontend's request engine: request ids, the ring, and event-channel waits for responses
 * (out of order, matched by id); the pages and their grants come from a PagePool. Parts that find
 * no free slot or pages wait in order.
 */
export class RingClient {
  readonly #domain: SharedDomain;
  readonly #ring: FrontRing;
  readonly #channel: EventChannel;
  readonly #handle: number;
  readonly #pollMicros: number;
  readonly #pool: PagePool;
  readonly #parts: (Part | undefined)[];
  readonly #freeIds: number[] = [];
  #queue: Part[] = [];
  #queueHead = 0;
  #watching = false;
  #pushScheduled = false;
  #failure: BlockError | undefined;
  #idleWaiters: (() => void)[] = [];
  readonly #keepAlive: NodeJS.Timeout;

  constructor(options: RingClientOptions) {
    this.#domain = options.domain;
    this.#ring = options.ring;
    this.#channel = options.channel;
    this.#handle = options.handle & 0xffff;
    this.#pollMicros = options.pollMicros ?? 0;
    this.#pool = new PagePool({
      domain: options.domain,
      backendDomid: options.backendDomid,
      frames: options.poolFrames,
      persistent: options.persistent,
    });
    this.#parts = new Array<Part | undefined>(options.ring.entries).fill(undefined);
    for (let id = options.ring.entries - 1; id >= 0; id--) this.#freeIds.push(id);
    // Atomics.waitAsync does not keep the event loop alive; this timer does while work is pending.
    this.#keepAlive = setInterval(() => undefined, 1 << 30);
    this.#keepAlive.unref();
  }

  /** Slots in the ring. */
  get entries(): number {
    return this.#ring.entries;
  }

  get domain(): SharedDomain {
    return this.#domain;
  }

  /** Requests on the ring plus those waiting for room. */
  get busy(): number {
    return this.#ring.outstanding + this.#queue.length - this.#queueHead;
  }

  /** Pages of the pool that could not be taken back because the backend still maps them. */
  get quarantined(): number {
    return this.#pool.quarantined;
  }

  get failure(): BlockError | undefined {
    return this.#failure;
  }

  /** Queues the parts of an operation and sends what fits. */
  submit(parts: readonly Part[]): void {
    if (this.#failure) {
      const owner = parts[0]?.owner;
      owner?.reject(this.#failure);
      return;
    }
    if (this.busy === 0) this.#keepAlive.ref();
    for (const part of parts) part.owner.pending++;
    let i = 0;
    // Nothing waiting: put what fits straight on the ring; the rest queues in order.
    if (this.#queueHead === this.#queue.length) {
      for (; i < parts.length && this.#ring.freeSlots > 0 && this.#issue(parts[i]!); i++) this.#published(parts[i]!);
      if (i > 0 && !this.#watching) void this.#watch();
    }
    if (i === parts.length) return;
    for (; i < parts.length; i++) this.#queue.push(parts[i]!);
    this.#pump();
  }

  /**
   * A large write is published at once, so that the backend starts on it while the next one is
   * copied in; everything else is published together at the end of this turn, one kick at most.
   */
  #published(part: Part): void {
    if (part.bytes >= EAGER_PUSH_BYTES && part.op !== BlkifOp.READ) this.#push();
    else if (!this.#pushScheduled) {
      this.#pushScheduled = true;
      queueMicrotask(this.#push);
    }
  }

  /** Resolves when nothing is on the ring or queued. */
  idle(): Promise<void> {
    if (this.busy === 0 || this.#failure) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Fails every request on the ring or queued with `error`; later submissions fail the same way. */
  fail(error: BlockError): void {
    this.#failure ??= error;
    const failed = new Set<Operation>();
    for (const part of this.#parts) if (part) failed.add(part.owner);
    for (let i = this.#queueHead; i < this.#queue.length; i++) failed.add(this.#queue[i]!.owner);
    this.#queue = [];
    this.#queueHead = 0;
    for (const op of failed) {
      op.pending = -1;
      op.reject(error);
    }
    this.#settleIdle();
  }

  /**
   * Takes back the grants of the pool and of whatever is still in flight (the backend must have
   * unmapped them, i.e. closed its end). Returns the grants it could not end.
   */
  release(): number {
    clearInterval(this.#keepAlive);
    const outstanding = [];
    for (const part of this.#parts) if (part) outstanding.push(part.pages);
    return this.#pool.release(outstanding);
  }

  readonly #push = (): void => {
    this.#pushScheduled = false;
    if (this.#ring.pushRequests()) this.#channel.notify();
  };

  #failed(): boolean {
    return this.#failure !== undefined;
  }

  #pump(): void {
    const queue = this.#queue;
    let issued = false;
    while (this.#queueHead < queue.length && this.#ring.freeSlots > 0) {
      const part = queue[this.#queueHead]!;
      if (part.owner.pending < 0) {
        this.#queueHead++;
        continue;
      }
      if (!this.#issue(part)) break;
      this.#queueHead++;
      issued = true;
      this.#published(part);
    }
    if (this.#queueHead === queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
    } else if (this.#queueHead > 1024) {
      this.#queue = queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
    if (issued && !this.#watching) void this.#watch();
  }

  /** Puts one part on the ring; false (nothing changed) when pages or grants are short. */
  #issue(part: Part): boolean {
    const dataPages = (part.bytes + PAGE_SIZE - 1) >> 12;
    const indirectPages = dataPages > MAX_DIRECT_SEGMENTS ? Math.ceil(dataPages / SEGMENTS_PER_INDIRECT_PAGE) : 0;
    const write = part.op !== BlkifOp.READ;
    const pages = this.#pool.lend(dataPages, indirectPages, !write);
    if (!pages) return false;
    const pool = this.#pool;
    part.pages = pages;
    if (write && dataPages > 0) pool.copy(part.owner.buffers, part.offset, part.bytes, pages, true);

    const id = this.#freeIds.pop()!;
    this.#parts[id] = part;
    const ring = this.#ring;
    const view = ring.view;
    const at = ring.claimRequestSlot();
    if (part.op === BlkifOp.DISCARD) {
      writeDiscard(view, at, 0, this.#handle, id, part.sector, part.nrSectors);
    } else if (indirectPages === 0) {
      writeRwHeader(view, at, part.op, dataPages, this.#handle, id, part.sector);
      for (let i = 0; i < dataPages; i++)
        writeSegment(view, at + RW.SEGMENTS + i * SEGMENT_SIZE, pool.gref(pages, i), 0, lastSect(part.bytes, i));
    } else {
      const memory = this.#domain.view;
      for (let i = 0; i < dataPages; i++) {
        const page = pool.frame(pages.slots[dataPages + (i >> 9)]!);
        writeSegment(memory, page * PAGE_SIZE + (i & 511) * SEGMENT_SIZE, pool.gref(pages, i), 0, lastSect(part.bytes, i));
      }
      const indirectGrefs: number[] = [];
      for (let i = dataPages; i < pages.slots.length; i++) indirectGrefs.push(pool.gref(pages, i));
      writeIndirectHeader(view, at, part.op, dataPages, this.#handle, id, part.sector, indirectGrefs);
    }
    return true;
  }

  async #watch(): Promise<void> {
    this.#watching = true;
    const ring = this.#ring;
    const channel = this.#channel;
    try {
      let pollUntil = 0;
      while (ring.outstanding > 0 && !this.#failed()) {
        const seen = channel.value;
        this.#drain();
        if (ring.outstanding === 0 || this.#failed()) break;
        // Poll a while from the event loop (other work still runs between looks) before asking
        // for a notification: a wake-up across threads costs far more than a look at the ring.
        if (this.#pollMicros > 0) {
          const now = performance.now();
          if (pollUntil === 0) pollUntil = now + this.#pollMicros / 1000;
          if (now < pollUntil) {
            await nextTurn();
            if (ring.pendingResponses() > 0) pollUntil = 0;
            continue;
          }
          pollUntil = 0;
        }
        if (ring.finalCheckForResponses()) continue;
        if (ring.broken !== undefined) {
          this.fail(BlockError.io(`blkback is broken: ${ring.broken}`));
          break;
        }
        await channel.wait(seen);
      }
    } finally {
      this.#watching = false;
    }
  }

  #drain(): void {
    const ring = this.#ring;
    const view = ring.view;
    let n = ring.pendingResponses();
    let freed = false;
    while (n > 0) {
      for (; n > 0; n--) {
        const at = ring.takeResponseSlot();
        const id = view.getUint32(at + RESPONSE.ID, true);
        const idHigh = view.getUint32(at + RESPONSE.ID + 4, true);
        const status = view.getInt16(at + RESPONSE.STATUS, true);
        const part = idHigh === 0 && id < this.#parts.length ? this.#parts[id] : undefined;
        if (!part) {
          this.fail(BlockError.io(`blkback answered unknown request id ${idHigh * 2 ** 32 + id}`));
          return;
        }
        this.#parts[id] = undefined;
        this.#freeIds.push(id);
        this.#complete(part, status);
        freed = true;
      }
      n = ring.pendingResponses();
    }
    if (ring.broken !== undefined) {
      this.fail(BlockError.io(`blkback is broken: ${ring.broken}`));
      return;
    }
    if (freed) this.#pump();
    this.#settleIdle();
  }

  #complete(part: Part, status: number): void {
    const owner = part.owner;
    if (status === BlkifStatus.OKAY && part.op === BlkifOp.READ && owner.pending > 0 && owner.error === undefined) {
      this.#pool.copy(owner.buffers, part.offset, part.bytes, part.pages, false);
    }
    this.#pool.takeBack(part.pages);
    part.pages = NO_PAGES;
    if (owner.pending < 0) return;
    if (status !== BlkifStatus.OKAY && owner.error === undefined) {
      owner.error =
        status === BlkifStatus.EOPNOTSUPP
          ? new BlockError('UNSUPPORTED', `blkback does not support operation ${part.op}`)
          : BlockError.io(`blkback failed operation ${part.op} at sector ${part.sector} (status ${status})`);
    }
    if (--owner.pending === 0) {
      if (owner.error) owner.reject(owner.error);
      else owner.resolve();
    }
  }

  #settleIdle(): void {
    if (this.busy > 0 && !this.#failure) return;
    this.#keepAlive.unref();
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** Last 512-byte sector used in page `i` of a `bytes`-long transfer (only the last page may be partial). */
function lastSect(bytes: number, i: number): number {
  const left = bytes - i * PAGE_SIZE;
  return left >= PAGE_SIZE ? 7 : ((left - 1) >> SECTOR_SHIFT) & 7;
}
