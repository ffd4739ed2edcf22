import {
  BlockError,
  checkRange,
  checkRequest,
  dropUnsupportedMethods,
  supports,
  toBlockError,
  type BlockDevice,
  type BlockInfo,
  type Supports,
} from '@blk/core';
import { BlkifOp, PAGE_SIZE, SECTOR_BYTES } from './blkif-constants.js';
import { connectFrontend, disconnectFrontend, type FrontendConnection, type FrontendHandshakeOptions } from './frontend-handshake.js';
import { Operation, Part } from './ring-operation.js';
import { readState, XenbusState } from './xenbus-state.js';
import { notYet, readOptional, type XenbusStore } from './xenbus-store.js';

export interface BlkfrontOptions extends FrontendHandshakeOptions {
  /**
   * Largest ring request in pages (default 256 = 1 MiB, capped by what the backend accepts).
   * Smaller requests let the copy of one overlap the backend's work on the previous one when each
   * thread has a core to itself; on a busy machine fewer, larger requests go faster.
   */
  readonly chunkPages?: number | undefined;
  /** Abort it when the backend is known to be gone (its worker exited): requests fail with IO. */
  readonly backendGone?: AbortSignal;
  /** Runs after `disconnect` has closed the frontend (e.g. to tear the backend down). */
  readonly afterDisconnect?: () => Promise<void>;
}

/** What the handshake settled on. */
export interface BlkfrontNegotiated {
  readonly backendPath: string;
  readonly backendDomid: number;
  readonly ringPageOrder: number;
  readonly ringEntries: number;
  readonly persistent: boolean;
  /** Segments per request: 11 (direct only) or the indirect maximum. */
  readonly maxSegments: number;
  readonly indirect: boolean;
  /** Bytes per ring request for reads and writes. */
  readonly chunkBytes: number;
  readonly flushCache: boolean;
  readonly barrier: boolean;
  readonly discard: boolean;
}

const DEFAULT_CHUNK_PAGES = 256;

/**
 * A BlockDevice whose requests travel over a blkif shared ring to a Blkback, usually in another
 * thread. Reads and writes of any size and any sector size the backend advertises: callers'
 * buffers are copied into granted pages (any length that is a whole number of sectors, any
 * alignment), cut into direct or indirect requests, completed out of order by id. `flush` and
 * `discard` exist exactly when the backend advertises `feature-flush-cache`/`feature-barrier` and
 * `feature-discard`; a read-only backend (`info` bit 4 or `mode` r) makes a read-only device.
 */
export class Blkfront implements BlockDevice {
  readonly supports: Supports;
  readonly #store: XenbusStore;
  readonly #connection: FrontendConnection;
  readonly #unit: number;
  readonly #chunkBytes: number;
  readonly #afterDisconnect: (() => Promise<void>) | undefined;
  readonly #stopWatching = new AbortController();
  #info: BlockInfo;
  #closed = false;
  #lost: BlockError | undefined;
  #disconnecting: Promise<void> | undefined;

  private constructor(store: XenbusStore, connection: FrontendConnection, options: BlkfrontOptions) {
    this.#store = store;
    this.#connection = connection;
    const { device, transport } = connection;
    const sectorSize = device.sectorSize;
    this.#unit = sectorSize / SECTOR_BYTES;
    this.#info = Object.freeze({
      readWrite: !device.readOnly,
      sectorSize,
      sizeSectors: Math.floor(device.sectors / this.#unit),
    });
    const pagesPerSector = Math.max(1, sectorSize / PAGE_SIZE);
    const chunk = Math.min(connection.maxSegments, Math.max(1, options.chunkPages ?? DEFAULT_CHUNK_PAGES));
    const chunkPages =
      Math.floor(chunk / pagesPerSector) * pagesPerSector || Math.floor(connection.maxSegments / pagesPerSector) * pagesPerSector;
    if (chunkPages === 0) throw new BlockError('UNSUPPORTED', `a ${sectorSize}-byte sector does not fit in one request`);
    this.#chunkBytes = chunkPages * PAGE_SIZE;
    this.#afterDisconnect = options.afterDisconnect;
    const canFlush = transport.flushCache || transport.barrier;
    const canDiscard = transport.discard && !device.readOnly;
    this.supports = supports({ write: !device.readOnly, flush: canFlush, discard: canDiscard, concurrent: true });
    dropUnsupportedMethods(this);
    if (options.backendGone) {
      const gone = options.backendGone;
      const onGone = () => {
        this.#lose(BlockError.io('blkback is gone'));
      };
      if (gone.aborted) onGone();
      else gone.addEventListener('abort', onGone, { once: true, signal: this.#stopWatching.signal });
    }
    void this.#watchBackend();
  }

  /** Runs the frontend handshake over `store` and returns the connected device. */
  static async connect(options: BlkfrontOptions): Promise<Blkfront> {
    const connection = await connectFrontend(options);
    try {
      return new Blkfront(options.store, connection, options);
    } catch (error) {
      await disconnectFrontend(options.store, connection);
      throw error;
    }
  }

  get negotiated(): BlkfrontNegotiated {
    const c = this.#connection;
    return {
      backendPath: c.backendPath,
      backendDomid: c.backendDomid,
      ringPageOrder: c.order,
      ringEntries: c.client.entries,
      persistent: c.persistent,
      maxSegments: c.maxSegments,
      indirect: c.maxSegments > 11,
      chunkBytes: this.#chunkBytes,
      flushCache: c.transport.flushCache,
      barrier: c.transport.barrier,
      discard: c.transport.discard,
    };
  }

  getInfo(): Promise<BlockInfo> {
    if (this.#closed) return Promise.reject(BlockError.disconnected('blkfront'));
    return Promise.resolve(this.#info);
  }

  read(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    return this.#data(BlkifOp.READ, sector, buffers);
  }

  write(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    if (!this.#closed && !this.#info.readWrite) return Promise.reject(BlockError.readOnly('blkfront'));
    return this.#data(BlkifOp.WRITE, sector, buffers);
  }

  /**
   * Lets requests in flight finish, closes the frontend (Closing, the backend closes its end,
   * grants taken back, Closed) and runs `afterDisconnect`. Idempotent; never rejects.
   */
  disconnect(): Promise<void> {
    this.#disconnecting ??= this.#disconnect();
    return this.#disconnecting;
  }

  async #disconnect(): Promise<void> {
    this.#closed = true;
    const client = this.#connection.client;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([client.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, 10_000)))]);
    clearTimeout(timer);
    client.fail(BlockError.disconnected('blkfront'));
    this.#stopWatching.abort();
    const keepAlive = setInterval(() => undefined, 1 << 30);
    try {
      // A backend known to be gone will not answer: do not wait for it to close its end.
      await disconnectFrontend(this.#store, this.#connection, this.#lost ? 0 : 5_000);
      await this.#afterDisconnect?.().catch(() => undefined);
    } finally {
      clearInterval(keepAlive);
    }
  }

  #check(): BlockError | undefined {
    if (this.#closed) return BlockError.disconnected('blkfront');
    return this.#lost;
  }

  #data(op: number, sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    const refused = this.#check();
    if (refused) return Promise.reject(refused);
    let count: number;
    try {
      count = checkRequest(this.#info, sector, buffers);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : toBlockError(error, 'blkfront request check failed'));
    }
    if (count === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const operation = new Operation(buffers, resolve, reject);
      const bytes = count * this.#info.sectorSize;
      const chunk = this.#chunkBytes;
      const first = sector * this.#unit;
      const parts: Part[] = [];
      for (let offset = 0; offset < bytes; offset += chunk) {
        parts.push(new Part(op, first + offset / SECTOR_BYTES, Math.min(chunk, bytes - offset), 0, operation, offset));
      }
      this.#connection.client.submit(parts);
    });
  }

  #control(op: number): Promise<void> {
    const refused = this.#check();
    if (refused) return Promise.reject(refused);
    return new Promise((resolve, reject) => {
      this.#connection.client.submit([new Part(op, 0, 0, 0, new Operation([], resolve, reject), 0)]);
    });
  }

  /** FLUSH_DISKCACHE, or WRITE_BARRIER when the backend offers only that. */
  flush(): Promise<void> {
    return this.#control(this.#connection.transport.flushCache ? BlkifOp.FLUSH_DISKCACHE : BlkifOp.WRITE_BARRIER);
  }

  discard(sector: number, count: number): Promise<void> {
    const refused = this.#check();
    if (refused) return Promise.reject(refused);
    try {
      checkRange(this.#info, sector, count);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : toBlockError(error, 'blkfront request check failed'));
    }
    if (count === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const operation = new Operation([], resolve, reject);
      this.#connection.client.submit([new Part(BlkifOp.DISCARD, sector * this.#unit, 0, count * this.#unit, operation, 0)]);
    });
  }

  /** Follows the backend while connected: a change of `sectors` resizes, leaving Connected loses it. */
  async #watchBackend(): Promise<void> {
    const { backendPath } = this.#connection;
    const signal = this.#stopWatching.signal;
    while (!signal.aborted && this.#lost === undefined) {
      let outcome: 'gone' | number;
      try {
        outcome = await this.#store.wait(
          async (h) => {
            if ((await readState(h, backendPath)) !== XenbusState.Connected) return 'gone' as const;
            const text = await readOptional(h, `${backendPath}/sectors`);
            const sectors = text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
            if (sectors !== undefined && Number.isSafeInteger(sectors) && Math.floor(sectors / this.#unit) !== this.#info.sizeSectors) {
              return sectors;
            }
            throw notYet();
          },
          { signal },
        );
      } catch {
        return;
      }
      if (outcome === 'gone') {
        this.#lose(BlockError.io('blkback left the Connected state'));
        return;
      }
      this.#info = Object.freeze({ ...this.#info, sizeSectors: Math.floor(outcome / this.#unit) });
    }
  }

  /** The backend is gone: what is on the ring may still be answered briefly, then everything fails. */
  #lose(error: BlockError): void {
    if (this.#lost || this.#closed) return;
    this.#lost = error;
    const client = this.#connection.client;
    let timer: NodeJS.Timeout | undefined;
    void Promise.race([client.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, 1_000)))]).then(() => {
      clearTimeout(timer);
      client.fail(error);
    });
  }
}
