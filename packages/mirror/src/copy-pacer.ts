import { nextTurn, sleep } from '@blk/core';
import type { InFlight } from './in-flight.js';

export interface PacerSettings {
  /** False: the clients' load is ignored and the copy always runs as when they are idle. */
  readonly adaptive: boolean;
  /** Chunks in flight at most while no client is active. */
  readonly concurrency: number;
  /** Bytes per data chunk while no client is active. */
  readonly chunk: number;
  /** Bytes per hole window (zeroed, not read) while no client is active. */
  readonly holeBytes: number;
  /** Bytes per data chunk (and, ×16, per hole window) while clients are active. */
  readonly busyChunk: number;
  /** No client request for this long (and none in flight) means the clients are idle. */
  readonly idleAfterMs: number;
  /** While clients are active, the share of the time the copy may have a chunk in flight. */
  readonly busyShare: number;
  /** While idle, the copy gives the event loop a turn once it has run this long. */
  readonly sliceMs: number;
  /** Average ceiling on the bytes copied per second (holes not counted); undefined = none. */
  readonly bytesPerSecond: number | undefined;
}

/** What a chunk may copy: data bytes, bytes of a hole window, and the mode it was granted in. */
export interface Grant {
  readonly dataBytes: number;
  readonly holeBytes: number;
  readonly busy: boolean;
  readonly startedAt: number;
}

const BUSY_HOLE_FACTOR = 16;

/**
 * Decides when the background copy may start its next chunk, and how big it may be, from the
 * clients' load and the copy's own share of the time:
 *
 * - Clients idle (none in flight, none for `idleAfterMs`): up to `concurrency` chunks of `chunk`
 *   bytes in flight, with a turn of the event loop only once every `sliceMs`, so the copy runs
 *   at full speed but a client that connects is heard within about one slice.
 * - Clients busy: one chunk of at most `busyChunk` bytes in flight, each started on a fresh turn
 *   of the event loop (so every ready client request runs first and waits behind at most one
 *   small chunk), and the copy keeps a chunk in flight at most `busyShare` of the time: after a
 *   chunk that took d, the next starts no sooner than d × (1 / busyShare − 1) later.
 * - `bytesPerSecond`, when set, caps the average rate in both modes.
 */
export class CopyPacer {
  readonly #settings: PacerSettings;
  readonly #clients: InFlight;
  readonly #signal: AbortSignal;
  readonly #start = performance.now();
  #running = 0;
  #waiters: (() => void)[] = [];
  #lastTurn = Number.NEGATIVE_INFINITY;
  #notBefore = 0;
  #bytes = 0;
  #clientsSeen = 0;
  #clientsLastActive = Number.NEGATIVE_INFINITY;

  constructor(settings: PacerSettings, clients: InFlight, signal: AbortSignal) {
    this.#settings = settings;
    this.#clients = clients;
    this.#signal = signal;
    signal.addEventListener('abort', () => this.#wakeAll(), { once: true });
  }

  /** Chunks granted and not yet done. */
  get running(): number {
    return this.#running;
  }

  /** Waits until a chunk may start and grants it; undefined once the copy is stopped. */
  async admit(): Promise<Grant | undefined> {
    const s = this.#settings;
    for (;;) {
      if (this.#signal.aborted) return undefined;
      const busy = s.adaptive && this.#clientsBusy();
      if (this.#running >= (busy ? 1 : s.concurrency)) {
        await new Promise<void>((resolve) => this.#waiters.push(resolve));
        continue;
      }
      if (s.bytesPerSecond !== undefined) {
        const wait = this.#start + (this.#bytes / s.bytesPerSecond) * 1000 - performance.now();
        if (wait > 0) {
          await sleep(wait, this.#signal);
          this.#lastTurn = performance.now();
          continue;
        }
      }
      if (busy) {
        // Timers below a millisecond are not precise: shorter waits are one turn of the loop.
        const wait = this.#notBefore - performance.now();
        if (wait >= 1) await sleep(wait, this.#signal);
        else await nextTurn();
        this.#lastTurn = performance.now();
        // Another worker may have started a chunk during that turn.
        if (this.#occupied()) continue;
      } else if (performance.now() - this.#lastTurn >= s.sliceMs) {
        await nextTurn();
        this.#lastTurn = performance.now();
        continue;
      }
      this.#running++;
      return {
        dataBytes: busy ? Math.min(s.busyChunk, s.chunk) : s.chunk,
        holeBytes: busy ? Math.min(s.busyChunk * BUSY_HOLE_FACTOR, s.holeBytes) : s.holeBytes,
        busy,
        startedAt: performance.now(),
      };
    }
  }

  /** Ends a granted chunk, counting the bytes it read (which the rate ceiling applies to). */
  done(grant: Grant, bytesRead: number): void {
    this.#running--;
    this.#bytes += bytesRead;
    if (grant.busy) {
      const now = performance.now();
      this.#notBefore = now + (now - grant.startedAt) * (1 / this.#settings.busyShare - 1);
    }
    this.#wakeAll();
  }

  /** A client request is in flight, or one started within `idleAfterMs` (as seen from here). */
  #clientsBusy(): boolean {
    const now = performance.now();
    const started = this.#clients.started;
    if (this.#clients.count > 0 || started !== this.#clientsSeen) {
      this.#clientsSeen = started;
      this.#clientsLastActive = now;
      return true;
    }
    return now - this.#clientsLastActive < this.#settings.idleAfterMs;
  }

  #occupied(): boolean {
    return this.#running > 0;
  }

  #wakeAll(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
