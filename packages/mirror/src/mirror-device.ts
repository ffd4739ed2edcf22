import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  BlockError,
  checkRange,
  checkRequest,
  checkSeek,
  isSeekable,
  settled,
  toBlockError,
  zeroRange,
  type BlockInfo,
  type Supports,
} from '@blk/core';
import { runBackgroundCopy } from './background-copy.js';
import { CopyPlanner } from './copy-planner.js';
import { childError, floorTo, type DevicePair } from './device-pair.js';
import { InFlight } from './in-flight.js';
import { mirrorSupports } from './mirror-supports.js';
import type { ResolvedOptions } from './options.js';
import { ProgressReporter } from './progress.js';
import { RegionLock } from './region-lock.js';
import { ScaledSeek } from './scaled-seek.js';
import { Throttle } from './throttle.js';

export type MirrorState = 'copying' | 'synced' | 'failed';

/** Largest unmapped run zeroed under one lock when the secondary zeroes natively. */
const HOLE_WINDOW_BYTES = 64 << 20;

/** Calls `op`, turning a synchronous throw into a rejection. */
function attempt(op: () => Promise<void>): Promise<void> {
  try {
    return op();
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
}

const passOn =
  (what: string) =>
  (cause: unknown): never => {
    throw toBlockError(cause, `mirror primary: ${what} failed`);
  };

/**
 * The mirror's behaviour. Reads and seeks go to the primary. Writes, discards and writeZeroes
 * hold the region lock on their byte range and go to both children at once; the background copy
 * takes the same lock per window, so the two never interleave on overlapping bytes, and
 * overlapping client writes land on both children in the same order.
 *
 * Failure policy: a secondary failure (copy, mirrored write, flush) moves the mirror to `failed`
 * for good; from then on only the primary is used, and client requests keep succeeding as long
 * as the primary does. A client write whose secondary half failed therefore resolves (its data is
 * on the primary, which serves every read); the failure is reported through `state`, `error`, the
 * `failed` progress event and the rejection of `synced`. A primary failure rejects the client
 * request; the range is then copied again from the primary so the secondary does not diverge.
 */
export class MirrorDevice {
  readonly supports: Supports;
  readonly synced: Promise<void>;
  readonly #info: BlockInfo;
  readonly #pair: DevicePair;
  readonly #options: ResolvedOptions;
  readonly #chunk: number;
  readonly #lock = new RegionLock();
  readonly #inFlight = new InFlight();
  readonly #stop = new AbortController();
  readonly #progress: ProgressReporter;
  readonly #seek: ScaledSeek | undefined;
  readonly #copy: Promise<void>;
  #state: MirrorState = 'copying';
  #error: BlockError | undefined;
  #closed = false;
  #disconnecting: Promise<void> | undefined;
  #resolveSynced: () => void = () => undefined;
  #rejectSynced: (error: BlockError) => void = () => undefined;

  constructor(pair: DevicePair, options: ResolvedOptions) {
    this.#pair = pair;
    this.#options = options;
    this.supports = mirrorSupports(pair.primary, pair.primaryInfo, pair.secondary);
    this.#info = Object.freeze({ readWrite: this.supports.write, sectorSize: pair.grain, sizeSectors: pair.bytes / pair.grain });
    this.#chunk = Math.max(pair.grain, floorTo(options.chunkBytes, pair.grain));
    this.#progress = new ProgressReporter(pair.bytes, options.onProgress);
    this.#seek = isSeekable(pair.primary)
      ? new ScaledSeek(pair.primary, pair.grain / pair.primaryInfo.sectorSize, pair.primaryInfo.sizeSectors)
      : undefined;
    this.synced = new Promise<void>((resolve, reject) => {
      this.#resolveSynced = resolve;
      this.#rejectSynced = reject;
    });
    // Nobody has to await `synced`; a failure is also reported through state and progress.
    this.synced.catch(() => undefined);
    this.#copy = this.#runCopy();
  }

  get state(): MirrorState {
    return this.#state;
  }

  /** Why the mirror failed, once `state` is `failed`. */
  get error(): BlockError | undefined {
    return this.#error;
  }

  getInfo(): Promise<BlockInfo> {
    return settled(() => {
      this.#open();
      return { ...this.#info };
    });
  }

  read(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    return this.#inFlight.run(async () => {
      this.#open();
      checkRequest(this.#info, sector, buffers);
      await this.#pair.primary.read(this.#primarySector(sector), buffers).catch(passOn('read'));
    });
  }

  write(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    return this.#inFlight.run(async () => {
      this.#open();
      const count = checkRequest(this.#info, sector, buffers);
      this.#writable();
      if (count === 0) return;
      await this.#exclusive(sector, count, (start, end) => {
        const { primary, secondary, primaryInfo, secondaryInfo } = this.#pair;
        return this.#mirrored(
          start,
          end,
          'write',
          () => primary.write(start / primaryInfo.sectorSize, buffers),
          () => secondary.write(start / secondaryInfo.sectorSize, buffers),
        );
      });
    });
  }

  writeZeroes(sector: number, count: number): Promise<void> {
    return this.#inFlight.run(async () => {
      this.#open();
      checkRange(this.#info, sector, count);
      this.#writable();
      if (count === 0) return;
      await this.#exclusive(sector, count, (start, end) => {
        const { primary, secondary, primaryInfo, secondaryInfo } = this.#pair;
        const zero = (device: typeof primary, info: BlockInfo) => () =>
          zeroRange(device, start / info.sectorSize, (end - start) / info.sectorSize);
        return this.#mirrored(start, end, 'writeZeroes', zero(primary, primaryInfo), zero(secondary, secondaryInfo));
      });
    });
  }

  discard(sector: number, count: number): Promise<void> {
    return this.#inFlight.run(async () => {
      this.#open();
      checkRange(this.#info, sector, count);
      this.#writable();
      if (count === 0) return;
      await this.#exclusive(sector, count, async (start, end) => {
        const { primary, secondary, primaryInfo, secondaryInfo } = this.#pair;
        const ps = primaryInfo.sectorSize;
        const discardPrimary = () => primary.discard!(start / ps, (end - start) / ps);
        if (this.supports.discardZeroes) {
          const ss = secondaryInfo.sectorSize;
          await this.#mirrored(start, end, 'discard', discardPrimary, () => zeroRange(secondary, start / ss, (end - start) / ss));
          return;
        }
        // The primary's discarded range now reads as anything; the secondary takes what it reads.
        await attempt(discardPrimary).catch(async (cause: unknown) => {
          await this.#repair(start, end);
          passOn('discard')(cause);
        });
        await this.#repair(start, end);
      });
    });
  }

  flush(): Promise<void> {
    return this.#inFlight.run(async () => {
      this.#open();
      const { primary, secondary } = this.#pair;
      const flushOf = (device: typeof primary, wanted: boolean) =>
        wanted && device.supports.flush && device.flush ? attempt(() => device.flush!()) : Promise.resolve();
      const [p, s] = await Promise.allSettled([flushOf(primary, true), flushOf(secondary, this.#state !== 'failed')]);
      if (s.status === 'rejected') this.#fail(childError('secondary', 'flush', s.reason));
      if (p.status === 'rejected') passOn('flush')(p.reason);
    });
  }

  seekMapped(sector: number): Promise<number> {
    return this.#inFlight.run(async () => {
      this.#open();
      checkSeek(this.#info, sector);
      return this.#seek!.mapped(sector).catch(passOn('seekMapped'));
    });
  }

  seekUnmapped(sector: number): Promise<number> {
    return this.#inFlight.run(async () => {
      this.#open();
      checkSeek(this.#info, sector);
      return this.#seek!.unmapped(sector).catch(passOn('seekUnmapped'));
    });
  }

  /** Stops the copy and waits for it, lets requests in flight settle, then (if asked) disconnects the children. */
  disconnect(): Promise<void> {
    this.#disconnecting ??= this.#shutdown();
    return this.#disconnecting;
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    this.#stop.abort(BlockError.disconnected('mirror'));
    await this.#copy;
    await this.#inFlight.drained();
    if (this.#options.disconnectChildren) {
      const { primary, secondary } = this.#pair;
      await Promise.allSettled([attempt(() => primary.disconnect()), attempt(() => secondary.disconnect())]);
    }
  }

  async #runCopy(): Promise<void> {
    // Start on a later turn, so the caller holds the mirror before the first progress event.
    await nextTurn();
    this.#progress.start();
    const pair = this.#pair;
    try {
      await runBackgroundCopy({
        pair,
        planner: new CopyPlanner(pair, this.#chunk, pair.secondaryZeroesCheaply ? HOLE_WINDOW_BYTES : this.#chunk),
        lock: this.#lock,
        throttle: new Throttle(this.#options.bytesPerSecond, this.#stop.signal),
        chunk: this.#chunk,
        concurrency: this.#options.concurrency,
        signal: this.#stop.signal,
        onCopied: (bytes) => this.#progress.add(bytes),
      });
    } catch (e) {
      this.#fail(toBlockError(e, 'mirror copy failed'));
      return;
    }
    if (this.#state !== 'copying') return;
    this.#state = 'synced';
    this.#progress.complete();
    this.#resolveSynced();
  }

  /** Moves to `failed` once: the copy stops, the secondary is no longer written, the error is reported. */
  #fail(error: BlockError): void {
    if (this.#state === 'failed') return;
    this.#state = 'failed';
    this.#error = error;
    this.#stop.abort(error);
    this.#progress.failed(error);
    this.#rejectSynced(error);
  }

  /**
   * Runs a client change on both children at once. Resolves when both have it, or when only the
   * secondary failed (the mirror then fails); rejects with the primary's error after repairing the
   * range on the secondary.
   */
  async #mirrored(
    start: number,
    end: number,
    what: string,
    onPrimary: () => Promise<void>,
    onSecondary: () => Promise<void>,
  ): Promise<void> {
    if (this.#state === 'failed') {
      await attempt(onPrimary).catch(passOn(what));
      return;
    }
    const [p, s] = await Promise.allSettled([attempt(onPrimary), attempt(onSecondary)]);
    if (s.status === 'rejected') this.#fail(childError('secondary', `${what} of bytes [${start}, ${end})`, s.reason));
    if (p.status === 'rejected') {
      await this.#repair(start, end);
      passOn(what)(p.reason);
    }
  }

  /** Copies [start, end) from the primary again, so the secondary holds what the primary reads. */
  async #repair(start: number, end: number): Promise<void> {
    if (this.#state === 'failed') return;
    try {
      await this.#pair.copyRange(start, end, new Uint8Array(Math.min(this.#chunk, end - start)));
    } catch (e) {
      this.#fail(toBlockError(e, 'mirror repair failed'));
    }
  }

  async #exclusive(sector: number, count: number, work: (start: number, end: number) => Promise<void>): Promise<void> {
    const start = sector * this.#info.sectorSize;
    const release = await this.#lock.acquire(start, start + count * this.#info.sectorSize);
    try {
      await work(start, start + count * this.#info.sectorSize);
    } finally {
      release();
    }
  }

  #primarySector(sector: number): number {
    return (sector * this.#info.sectorSize) / this.#pair.primaryInfo.sectorSize;
  }

  #open(): void {
    if (this.#closed) throw BlockError.disconnected('mirror');
  }

  #writable(): void {
    if (!this.#info.readWrite) throw BlockError.readOnly('mirror');
  }
}
