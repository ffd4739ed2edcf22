import { thrownMessage, type BlockDevice, type BlockInfo } from '@blk/core';
import { BackRing } from './back-ring.js';
import { decodeRequest, encodeResponse } from './blkif-codec.js';
import { BlkifOp, BlkifStatus, PAGE_SIZE, SECTOR_BYTES } from './blkif-constants.js';
import { grantRefusal, startRequest, type RequestContext } from './blkback-requests.js';
import type { EventChannel } from './event-channel.js';
import { GrantMapper } from './grant-mapper.js';
import { isRefusal, refuse, type Refusal, type RequestLimits } from './request-validation.js';
import type { SharedDomain } from './shared-domain.js';

export interface BlkbackOptions {
  /** The device served. Its methods are only called with requests that passed validation. */
  readonly device: BlockDevice;
  /** The geometry advertised to the frontend (the device's `getInfo()` at connect time). */
  readonly info: BlockInfo;
  /** The frontend's memory, grant table and event channels. */
  readonly frontend: SharedDomain;
  /** This backend's domain id: grants must be made out to it. */
  readonly domid: number;
  /** Grant references of the ring pages, in order. */
  readonly ringRefs: readonly number[];
  /** The frontend's event channel port, to bind. */
  readonly eventChannel: number;
  /** Keep grants mapped between requests (both sides agreed on `feature-persistent`). */
  readonly persistent?: boolean | undefined;
  /** Largest indirect request accepted; 0 refuses indirect requests with EOPNOTSUPP. */
  readonly maxIndirectSegments?: number | undefined;
  /** Offer WRITE_BARRIER (needs `device.flush`). Default: whenever the device can flush. */
  readonly barrier?: boolean | undefined;
  /**
   * Before sleeping, keep looking at the ring this long (µs) for the next request. Saves the
   * wake-up latency under load at the cost of CPU; 0 (default) sleeps at once.
   */
  readonly pollMicros?: number | undefined;
  /**
   * While the ring has been busy in the last 50 ms and nothing is in flight, sleep with a blocking
   * Atomics.wait (1 ms slices, the event loop runs between them) instead of Atomics.waitAsync:
   * the frontend then wakes this thread with a plain futex wake, much cheaper for it. Only for a
   * thread that serves this one ring (default false); an idle ring always sleeps asynchronously.
   */
  readonly blockingWait?: boolean | undefined;
  /** Requests taken before yielding to other work of this thread (other rings). Default 64. */
  readonly batch?: number | undefined;
  /** Called once if the frontend corrupts the ring so that serving must stop. */
  readonly onBroken?: (reason: string) => void;
}

/** Counters for diagnostics and tests. */
export interface BlkbackStats {
  requests: number;
  okay: number;
  errors: number;
  unsupported: number;
  /** The reason for the most recent refusal or failure. */
  lastError: string | undefined;
}

/** Failure to connect a ring: bad ring grants or event channel. */
export class BlkbackConnectError extends Error {
  override readonly name = 'BlkbackConnectError';
}

const TURN_PAGES = 64;
const BLOCKING_WINDOW_MS = 50;
const BLOCKING_SLICE_MS = 1;

const yieldToMacrotasks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Serves one blkif ring for any BlockDevice. Each request is decoded out of its slot once (the
 * private copy), validated (operation, segment counts, first/last sectors, device range and sector
 * grid, grant references and their read-only flag) and answered: OKAY, ERROR, or EOPNOTSUPP for
 * what was not offered. Nothing the frontend puts in the ring can make it throw, touch a page that
 * was not granted to it, or run more than `batch` requests before other rings get a turn.
 */
export class Blkback {
  readonly stats: BlkbackStats = { requests: 0, okay: 0, errors: 0, unsupported: 0, lastError: undefined };
  readonly #device: BlockDevice;
  #limits: RequestLimits;
  readonly #frontend: SharedDomain;
  readonly #ring: BackRing;
  readonly #ringRefs: readonly number[];
  readonly #channel: EventChannel;
  readonly #mapper: GrantMapper;
  readonly #context: RequestContext;
  readonly #pollMicros: number;
  readonly #blocking: boolean;
  #lastBusy = 0;
  readonly #batch: number;
  readonly #onBroken: ((reason: string) => void) | undefined;
  readonly #served: Promise<void>;
  #inflight = 0;
  #idleWaiters: { target: number; resolve: () => void }[] = [];
  #stopping = false;
  #abandoned = false;
  #released = false;
  #pushScheduled = false;
  #sinceYield = 0;
  /** Data pages dispatched in this turn of the loop. */
  #turnPages = 0;
  #fence: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  private constructor(options: BlkbackOptions, ring: BackRing, channel: EventChannel, limits: RequestLimits) {
    this.#device = options.device;
    this.#frontend = options.frontend;
    this.#ring = ring;
    this.#ringRefs = options.ringRefs;
    this.#channel = channel;
    this.#limits = limits;
    this.#mapper = new GrantMapper(options.frontend.grants, options.domid, options.persistent ?? false);
    this.#pollMicros = options.pollMicros ?? 0;
    this.#blocking = options.blockingWait ?? false;
    this.#batch = Math.max(1, options.batch ?? 64);
    this.#onBroken = options.onBroken;
    this.#context = {
      device: this.#device,
      frontend: this.#frontend,
      mapper: this.#mapper,
      limits: () => this.#limits,
      settledTo: (target) => this.#settledTo(target),
      fence: (fence) => {
        const lift = () => {
          this.#fence = undefined;
        };
        this.#fence = fence.then(lift, lift);
      },
      dispatched: (pages) => {
        this.#turnPages += pages;
      },
    };
    this.#served = this.#serve();
  }

  /**
   * Maps the ring (its pages must be granted to `domid`, writable, on consecutive frames), binds
   * the event channel and starts serving. Throws BlkbackConnectError, with nothing left mapped,
   * when the frontend's ring keys do not hold up.
   */
  static start(options: BlkbackOptions): Blkback {
    const { frontend, domid, ringRefs, info, device } = options;
    const order = Math.log2(ringRefs.length);
    if (!Number.isInteger(order) || order > 4)
      throw new BlkbackConnectError(`${ringRefs.length} ring pages is not a power of two up to 16`);
    const frames: number[] = [];
    const undo = () => {
      for (let i = 0; i < frames.length; i++) frontend.grants.unmap(ringRefs[i]!);
    };
    for (const ref of ringRefs) {
      const frame = frontend.grants.map(ref, domid, true);
      if (frame < 0) {
        undo();
        throw new BlkbackConnectError(`ring ${grantRefusal(ref, frame).reason}`);
      }
      frames.push(frame);
      if (frame !== frames[0]! + frames.length - 1) {
        undo();
        throw new BlkbackConnectError('ring pages must be consecutive frames');
      }
    }
    const channel = frontend.events.bindInterdomain(options.eventChannel, domid);
    if (!channel) {
      undo();
      throw new BlkbackConnectError(`cannot bind event channel ${options.eventChannel}`);
    }
    const ring = new BackRing({ buffer: frontend.memory, byteOffset: frames[0]! * PAGE_SIZE, order });
    const flush = device.supports.flush && typeof device.flush === 'function';
    const limits: RequestLimits = {
      sectors: info.sizeSectors * (info.sectorSize / SECTOR_BYTES),
      sectorSize: info.sectorSize,
      readOnly: !info.readWrite,
      flush,
      barrier: flush && (options.barrier ?? true),
      discard: device.supports.discard && typeof device.discard === 'function',
      maxIndirectSegments: options.maxIndirectSegments ?? 0,
    };
    return new Blkback(options, ring, channel, limits);
  }

  /**
   * Takes a new device size (after the device grew or shrank): requests are checked against it
   * from now on. The caller tells the frontend (`sectors` key); see BlkbackService.refresh.
   */
  resized(info: BlockInfo): void {
    this.#limits = { ...this.#limits, sectors: info.sizeSectors * (info.sectorSize / SECTOR_BYTES) };
  }

  /** Slots in the ring being served. */
  get ringEntries(): number {
    return this.#ring.entries;
  }

  /** Requests handed to the device and not yet answered. */
  get inflight(): number {
    return this.#inflight;
  }

  /** Resolves when serving has stopped (after `close`, or when the frontend broke the ring). */
  get served(): Promise<void> {
    return this.#served;
  }

  /**
   * Stops taking requests, lets those in flight finish (at most `timeoutMs`, default 30 s), then
   * unmaps everything and unbinds the event channel. If the device never finishes, the pages it
   * was given stay mapped (so the frontend cannot reuse them) and late completions are dropped.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closing ??= this.#close(options.timeoutMs ?? 30_000);
    return this.#closing;
  }

  async #close(timeoutMs: number): Promise<void> {
    this.#stopping = true;
    this.#channel.interrupt();
    // The deadline covers the serve loop too: it may itself wait on a device request (a barrier
    // waits for everything before it), so a request that never settles must not hold close.
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      this.#served.then(() => this.#settledTo(0)).then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    this.#push();
    if (!drained) {
      this.#abandoned = true;
      return;
    }
    this.#release();
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#mapper.releaseAll();
    for (const ref of this.#ringRefs) this.#frontend.grants.unmap(ref);
    this.#channel.close();
    this.#frontend.events.unbind(this.#channel.port);
  }

  #settledTo(target: number): Promise<void> {
    if (this.#inflight <= target) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push({ target, resolve }));
  }

  async #serve(): Promise<void> {
    const ring = this.#ring;
    const channel = this.#channel;
    while (!this.#stopping) {
      if (this.#fence) {
        await this.#fence;
        continue;
      }
      const seen = channel.value;
      const pending = ring.pendingRequests();
      if (pending > 0) {
        if (this.#blocking) this.#lastBusy = performance.now();
        const take = Math.min(pending, this.#batch - this.#sinceYield);
        // Stop after about 256 KiB of data too, so that the answers to large requests go out (and
        // the frontend copies them) while the next ones are being served.
        this.#turnPages = 0;
        let taken = 0;
        while (taken < take && this.#turnPages < TURN_PAGES && this.#mayTake()) {
          this.#processOne();
          taken++;
        }
        this.#sinceYield += taken;
        if (this.#sinceYield >= this.#batch) {
          this.#sinceYield = 0;
          this.#push();
          await yieldToMacrotasks();
        } else {
          // Lets completions that are already settled (in-memory devices) write their responses.
          await Promise.resolve();
          this.#push();
        }
        continue;
      }
      this.#push();
      if (ring.broken !== undefined) break;
      this.#sinceYield = 0;
      if (this.#poll()) continue;
      if (ring.finalCheckForRequests()) continue;
      if (ring.isBroken()) break;
      if (this.#blocking && this.#inflight === 0 && performance.now() - this.#lastBusy < BLOCKING_WINDOW_MS) {
        // Busy lately and nothing in flight: sleep in the kernel, which the frontend wakes with a
        // plain futex wake (much cheaper for it than waking an event loop), a slice at a time so
        // that this thread's event loop (handshake messages, timers) still runs.
        if (!channel.waitBlocking(seen, BLOCKING_SLICE_MS)) await yieldToMacrotasks();
        continue;
      }
      await channel.wait(seen);
    }
    if (ring.broken !== undefined) {
      this.#stopping = true;
      this.stats.lastError = ring.broken;
      this.#onBroken?.(ring.broken);
    }
  }

  /** Whether the loop may take another request now (a barrier or close may have come up meanwhile). */
  #mayTake(): boolean {
    return this.#fence === undefined && !this.#stopping;
  }

  #poll(): boolean {
    if (this.#pollMicros <= 0) return false;
    const ring = this.#ring;
    const deadline = performance.now() + this.#pollMicros / 1000;
    do {
      if (ring.pendingRequests() > 0) return true;
    } while (performance.now() < deadline && !ring.isBroken());
    return false;
  }

  #processOne(): void {
    const ring = this.#ring;
    const request = decodeRequest(ring.view, ring.takeRequestSlot());
    this.stats.requests++;
    const op = request.operation === BlkifOp.INDIRECT && 'indirectOp' in request ? request.indirectOp : request.operation;
    let work: Promise<unknown> | Refusal;
    try {
      work = startRequest(this.#context, request);
    } catch (error) {
      work = refuse(`backend failure: ${thrownMessage(error)}`);
    }
    if (isRefusal(work)) {
      this.#answer(request.id, request.idHigh, op, work.status, work.reason);
      return;
    }
    this.#inflight++;
    work.then(
      () => {
        this.#finish(request.id, request.idHigh, op, BlkifStatus.OKAY, undefined);
      },
      (error: unknown) => {
        this.#finish(request.id, request.idHigh, op, BlkifStatus.ERROR, thrownMessage(error));
      },
    );
  }

  #finish(id: number, idHigh: number, op: number, status: number, reason: string | undefined): void {
    this.#inflight--;
    if (!this.#abandoned) this.#answer(id, idHigh, op, status, reason);
    if (this.#idleWaiters.length > 0) {
      const ready = this.#idleWaiters.filter((w) => this.#inflight <= w.target);
      this.#idleWaiters = this.#idleWaiters.filter((w) => this.#inflight > w.target);
      for (const w of ready) w.resolve();
    }
  }

  #answer(id: number, idHigh: number, op: number, status: number, reason: string | undefined): void {
    if (status === BlkifStatus.OKAY) this.stats.okay++;
    else {
      if (status === BlkifStatus.EOPNOTSUPP) this.stats.unsupported++;
      else this.stats.errors++;
      this.stats.lastError = reason;
    }
    const ring = this.#ring;
    encodeResponse(ring.view, ring.claimResponseSlot(), id, idHigh, op, status);
    if (!this.#pushScheduled) {
      this.#pushScheduled = true;
      queueMicrotask(this.#push);
    }
  }

  readonly #push = (): void => {
    this.#pushScheduled = false;
    if (this.#abandoned) return;
    if (this.#ring.pushResponses()) this.#channel.notify();
  };
}
