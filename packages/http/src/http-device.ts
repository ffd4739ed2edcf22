import { BlockError, checkRequest, supports, type BlockDevice, type BlockInfo, type Supports } from '@blk/core';
import { BlockCache } from './block-cache.js';
import { BlockPool } from './block-pool.js';
import { BlockScheduler } from './block-scheduler.js';
import type { HttpClient } from './http-client.js';
import { isHttpDeviceError } from './http-error.js';
import type { ResolvedOptions } from './options.js';
import { readRange } from './range-reader.js';
import { Readahead } from './readahead.js';
import { ReadWaiter } from './read-waiter.js';
import { Scatter } from './scatter.js';
import { asError } from './transport.js';
import type { ImageVersion } from './validators.js';

/** Counters for tuning and tests: what reached the server and what the cache saved. */
export interface HttpStats {
  /** Range requests whose bytes were asked for (runs of coalesced blocks; retries not counted). */
  readonly requests: number;
  /** Bytes received in those requests. */
  readonly bytesFetched: number;
  /** Blocks found in the cache by a read. */
  readonly cacheHits: number;
  /** Blocks a read had to wait for. */
  readonly cacheMisses: number;
  /** Bytes in the cache now. */
  readonly cacheBytes: number;
  /** Range requests in flight now. */
  readonly inFlight: number;
  /** Connections the device opened (HEAD and probe included); undefined over `fetch`, which pools them out of sight. */
  readonly connections: number | undefined;
}

/**
 * A read-only BlockDevice over an image on a web server, read with HTTP range requests. Made by
 * {@link connect}, which checks the server first. Blocks of `blockSize` are fetched on demand,
 * adjacent ones coalesced into one request, read ahead for sequential readers, and kept in an LRU
 * cache of `cacheBytes`. Once the image changes on the server every read rejects (reason CHANGED).
 */
export class HttpDevice implements BlockDevice {
  readonly supports: Supports = supports({ concurrent: true });
  /** The image's length in bytes (the device rounds it up to whole sectors, read as zeroes). */
  readonly byteLength: number;
  /** The validators the image had when it was opened. */
  readonly etag: string | undefined;
  readonly lastModified: string | undefined;
  readonly #client: HttpClient;
  readonly #options: ResolvedOptions;
  readonly #version: ImageVersion;
  readonly #info: BlockInfo;
  readonly #cache: BlockCache;
  readonly #pool: BlockPool;
  readonly #scheduler: BlockScheduler;
  readonly #readahead: Readahead;
  #pendingReads = 0;
  #failure: BlockError | undefined;
  #requests = 0;
  #bytesFetched = 0;
  #hits = 0;
  #misses = 0;

  /** @internal Use {@link connect}. */
  constructor(client: HttpClient, version: ImageVersion) {
    this.#client = client;
    this.#options = client.options;
    this.#version = version;
    this.byteLength = version.size;
    this.etag = version.etag;
    this.lastModified = version.lastModified;
    const { sectorSize, blockSize } = this.#options;
    this.#info = Object.freeze({ readWrite: false, sectorSize, sizeSectors: Math.ceil(version.size / sectorSize) });
    this.#pool = new BlockPool(blockSize, Math.max(1, this.#options.maxRequestBytes / blockSize));
    this.#cache = new BlockCache(this.#options.cacheBytes, (block) => this.#pool.put(block));
    this.#readahead = new Readahead(this.#options.readahead, blockSize);
    this.#scheduler = new BlockScheduler((first, count, deliver) => this.#fetchRun(first, count, deliver), {
      concurrency: this.#options.concurrency,
      maxBlocks: this.#options.maxRequestBytes / blockSize,
    });
  }

  /** How the requests are sent: 'node-http' (Node's http/https) or 'fetch'. */
  get transport(): string {
    return this.#client.transport.name;
  }

  /** The URL the device reads. */
  get url(): string {
    return this.#client.url;
  }

  get stats(): HttpStats {
    return {
      requests: this.#requests,
      bytesFetched: this.#bytesFetched,
      cacheHits: this.#hits,
      cacheMisses: this.#misses,
      cacheBytes: this.#cache.bytes,
      inFlight: this.#scheduler.inFlight,
      connections: this.#client.transport.connectionsOpened,
    };
  }

  #usable(): void {
    if (this.#client.closed) throw BlockError.disconnected();
    if (this.#failure) throw this.#failure;
  }

  getInfo(): Promise<BlockInfo> {
    if (this.#client.closed) return Promise.reject(BlockError.disconnected());
    return Promise.resolve(this.#info);
  }

  read(sector: number, buffers: readonly Uint8Array[]): Promise<void> {
    try {
      this.#usable();
      const count = checkRequest(this.#info, sector, buffers);
      if (count === 0) return Promise.resolve();
      if (this.#pendingReads >= this.#options.maxPendingReads) {
        throw new BlockError('IO', `${this.#options.maxPendingReads} reads are already pending (maxPendingReads)`);
      }
      const waiter = this.#readBytes(sector * this.#info.sectorSize, count * this.#info.sectorSize, buffers);
      if (!waiter.waiting) return waiter.wait();
      this.#pendingReads++;
      return waiter.wait().finally(() => this.#pendingReads--);
    } catch (error) {
      return Promise.reject(asError(error));
    }
  }

  /** Copies what the cache holds, asks the scheduler for the rest; the waiter settles when it is all there. */
  #readBytes(start: number, length: number, buffers: readonly Uint8Array[]): ReadWaiter {
    const { blockSize } = this.#options;
    const size = this.#version.size;
    const end = start + length;
    const sink = new Scatter(buffers, start);
    const waiter = new ReadWaiter(sink, blockSize);
    if (end > size) sink.zero(Math.max(start, size), end);
    for (let index = Math.floor(start / blockSize); index * blockSize < Math.min(end, size); index++) {
      const cached = this.#cache.get(index);
      if (cached !== undefined) {
        this.#hits++;
        sink.copy(index * blockSize, cached);
        continue;
      }
      this.#misses++;
      waiter.expect();
      this.#scheduler.want(index, waiter);
    }
    const ahead = this.#readahead.plan(start, end, size);
    if (ahead !== undefined) {
      for (let index = Math.floor(ahead.start / blockSize); index * blockSize < ahead.end; index++) {
        if (!this.#cache.has(index)) this.#scheduler.prefetch(index);
      }
    }
    this.#scheduler.pump();
    return waiter;
  }

  async #fetchRun(first: number, count: number, deliver: (index: number, block: Uint8Array) => void): Promise<void> {
    const { blockSize } = this.#options;
    const size = this.#version.size;
    const start = first * blockSize;
    const end = Math.min((first + count) * blockSize, size);
    const blockAt = (index: number) => {
      const length = Math.min(blockSize, size - index * blockSize);
      return length === blockSize ? this.#pool.take() : new Uint8Array(length);
    };
    let index = first;
    let block = blockAt(index);
    let filled = 0;
    this.#requests++;
    try {
      await readRange(this.#client, this.#version, start, end, (bytes) => {
        const length = bytes.byteLength;
        this.#bytesFetched += length;
        for (let at = 0; at < length;) {
          const n = Math.min(block.byteLength - filled, length - at);
          block.set(n === length ? bytes : bytes.subarray(at, at + n), filled);
          filled += n;
          at += n;
          if (filled === block.byteLength) {
            this.#cache.set(index, block);
            deliver(index, block);
            index++;
            if (index < first + count) block = blockAt(index);
            filled = 0;
          }
        }
      });
    } catch (error) {
      if (isHttpDeviceError(error, 'CHANGED') && !this.#failure) {
        // Nothing read from now on may mix the old and the new image.
        this.#failure = error;
        this.#cache.clear();
        this.#pool.clear();
        this.#scheduler.failAll(error);
      }
      throw error;
    }
  }

  /** Refused: the device is read-only. */
  write(_sector: number, _buffers: readonly Uint8Array[]): Promise<void> {
    if (this.#client.closed) return Promise.reject(BlockError.disconnected());
    return Promise.reject(BlockError.readOnly('an HTTP image'));
  }

  /** Aborts the requests in flight (their reads reject DISCONNECTED) and drops the cache. Never rejects. */
  disconnect(): Promise<void> {
    if (!this.#client.closed) {
      this.#client.close();
      this.#scheduler.failAll(BlockError.disconnected());
      this.#cache.clear();
      this.#pool.clear();
    }
    return Promise.resolve();
  }
}
