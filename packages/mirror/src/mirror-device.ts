import {
  BlockError,
  checkRange,
  checkRequest,
  checkSeek,
  isSeekable,
  nextTurn,
  RegionLock,
  settled,
  toBlockError,
  zeroRange,
  type BlockInfo,
  type Supports,
} from '@blk/core';
import { runBackgroundCopy } from './background-copy.js';
import { CopyPacer } from './copy-pacer.js';
import { CopyPlanner } from './copy-planner.js';
import { childError, floorTo, type DevicePair } from './device-pair.js';
import { InFlight } from './in-flight.js';
import { mirrorSupports } from './mirror-supports.js';
import type { ResolvedOptions } from './options.js';
import { ProgressReporter } from './progress.js';
import { ScaledSeek } from './scaled-seek.js';

export type MirrorState = 'copying' | 'synced' | 'failed';

/** Largest unmapped run zeroed under one lock when the secondary zeroes natively. */
const HOLE_WINDOW_BYTES = 64 << 20;

const noFailure = (): undefined => undefined;
const asFailure = (error: unknown): { error: unknown } => ({ error });

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
  readonly #planner: CopyPlanner;
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
    this.#planner = new CopyPlanner(pair);
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

  async read(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    this.#open();
    checkRequest(this.#info, sector, buffers);
    this.#inFlight.enter();
    try {
      await this.#pair.primary.read(this.#primarySector(sector), buffers);
    } catch (e) {
      passOn('read')(e);
    } finally {
      this.#inFlight.leave();
    }
  }

  write(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    const { primary, secondary, primaryInfo, secondaryInfo } = this.#pair;
    return this.#change(
      'write',
      () => checkRequest(this.#info, sector, buffers),
      sector,
      (start) => [
        () => primary.write(start / primaryInfo.sectorSize, buffers),
        () => secondary.write(start / secondaryInfo.sectorSize, buffers),
      ],
    );
  }

  writeZeroes(sector: number, count: number): Promise<void> {
    const { primary, secondary, primaryInfo, secondaryInfo } = this.#pair;
    const check = () => {
      checkRange(this.#info, sector, count);
      return count;
    };
    return this.#change('writeZeroes', check, sector, (start, end) => [
      () => zeroRange(primary, start / primaryInfo.sectorSize, (end - start) / primaryInfo.sectorSize),
      () => zeroRange(secondary, start / secondaryInfo.sectorSize, (end - start) / secondaryInfo.sectorSize),
    ]);
  }

  discard(sector: number, count: number): Promise<void> {
    const { primary, secondary, primaryInfo, secondaryInfo } = this.#pair;
    const check = () => {
      checkRange(this.#info, sector, count);
      return count;
    };
    return this.#change('discard', check, sector, (start, end) => {
      const discardPrimary = () => primary.discard!(start / primaryInfo.sectorSize, (end - start) / primaryInfo.sectorSize);
      if (this.supports.discardZeroes) {
        return [discardPrimary, () => zeroRange(secondary, start / secondaryInfo.sectorSize, (end - start) / secondaryInfo.sectorSize)];
      }
      // The primary's discarded range now reads as anything: the secondary takes what it reads,
      // so this is a discard followed by a repair rather than two halves side by side.
      return [
        async () => {
          await discardPrimary();
          await this.#repair(start, end);
        },
        () => Promise.resolve(),
      ];
    });
  }

  flush(): Promise<void> {
    return this.#inFlight.run(async () => {
      this.#open();
      const { primary, secondary } = this.#pair;
      const flushOf = (device: typeof primary, wanted: boolean) =>
        wanted && device.supports.flush && device.flush ? settled(() => device.flush!()) : Promise.resolve();
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
      await Promise.allSettled([settled(() => primary.disconnect()), settled(() => secondary.disconnect())]);
    }
  }

  async #runCopy(): Promise<void> {
    // Start on a later turn, so the caller holds the mirror before the first progress event.
    await nextTurn();
    this.#progress.start();
    const pair = this.#pair;
    try {
      const o = this.#options;
      const pacer = new CopyPacer(
        {
          adaptive: o.adaptive,
          concurrency: o.concurrency,
          chunk: this.#chunk,
          holeBytes: pair.secondaryZeroesCheaply ? HOLE_WINDOW_BYTES : this.#chunk,
          busyChunk: Math.max(pair.grain, floorTo(Math.min(o.busyChunkBytes, this.#chunk), pair.grain)),
          idleAfterMs: o.idleAfterMs,
          busyShare: o.busyShare,
          sliceMs: o.sliceMs,
          bytesPerSecond: o.bytesPerSecond,
        },
        this.#inFlight,
        this.#stop.signal,
      );
      await runBackgroundCopy({
        pair,
        planner: this.#planner,
        lock: this.#lock,
        pacer,
        chunk: this.#chunk,
        concurrency: o.concurrency,
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
   * A client change: validated (`check` returns its sector count), then, holding the region lock
   * on its bytes, run on both children at once by the two halves `plan` returns. Resolves when
   * both have it, or when only the secondary failed (the mirror then fails); rejects with the
   * primary's error after repairing the range on the secondary. Once failed, only the primary half
   * runs.
   *
   * Only the primary half runs, too, for a change wholly at or past the copy's frontier (bytes
   * the planner has not handed out yet): the copy will plan a window over them later, take this
   * lock after the change releases it, and read them from the primary, so writing the secondary
   * now would only write it twice. The frontier is read while the lock is held, so a window over
   * these bytes, even one being planned at that moment, takes the lock after this change.
   */
  async #change(
    what: string,
    check: () => number,
    sector: number,
    plan: (start: number, end: number) => [onPrimary: () => Promise<void>, onSecondary: () => Promise<void>],
  ): Promise<void> {
    this.#open();
    const count = check();
    this.#writable();
    if (count === 0) return;
    const start = sector * this.#info.sectorSize;
    const end = start + count * this.#info.sectorSize;
    const [onPrimary, onSecondary] = plan(start, end);
    this.#inFlight.enter();
    try {
      const held = this.#lock.acquire(start, end);
      const release = typeof held === 'function' ? held : await held;
      try {
        if (this.#state === 'failed' || start >= this.#planner.planned) {
          await settled(onPrimary).catch(passOn(what));
          return;
        }
        // Both halves get a handler at once, so neither can become an unhandled rejection.
        const primaryDone = settled(onPrimary).then(noFailure, asFailure);
        const secondaryDone = settled(onSecondary).then(noFailure, asFailure);
        const secondaryFailure = await secondaryDone;
        if (secondaryFailure) this.#fail(childError('secondary', `${what} of bytes [${start}, ${end})`, secondaryFailure.error));
        const primaryFailure = await primaryDone;
        if (primaryFailure) {
          await this.#repair(start, end);
          passOn(what)(primaryFailure.error);
        }
      } finally {
        release();
      }
    } finally {
      this.#inFlight.leave();
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
