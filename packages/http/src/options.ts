import { BlockError, checkSectorSize } from '@blk/core';

/** The `fetch` the device calls: the platform's by default. */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

export interface HttpOptions {
  /** Extra request headers on every request (authorization, cookies…). `Range` and `If-Range` are the device's own. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Sector size of the device (default 512). An image whose length is not whole sectors reads zeroes past its end. */
  readonly sectorSize?: number;
  /** Unit of fetching and caching, a power of two and a multiple of the sector size (default 16 KiB). */
  readonly blockSize?: number;
  /** Bytes of blocks kept in the LRU cache (default 64 MiB; 0 keeps none). */
  readonly cacheBytes?: number;
  /** The largest read-ahead window of a sequential reader, in bytes (default 32 MiB; 0 turns read-ahead off). */
  readonly readahead?: number;
  /** HTTP requests in flight at once (default 8, at most 64). More reads wait in the queue. */
  readonly concurrency?: number;
  /** The most bytes one range request asks for; adjacent blocks are coalesced up to it (default 4 MiB). */
  readonly maxRequestBytes?: number;
  /** A request fails when no headers or body bytes arrive for this long (default 30 000 ms). */
  readonly timeoutMs?: number;
  /** Retries of a read after a network error, timeout, 5xx, 408 or 429 (default 3). */
  readonly retries?: number;
  /** The first retry waits about this long, each next one twice as long, at most 5 s (default 200 ms). */
  readonly retryDelayMs?: number;
  /** Reads waiting or in progress at once; past it a read rejects with IO (default 1024). */
  readonly maxPendingReads?: number;
  /**
   * Sends the requests through this `fetch` (a proxy-aware one, an instrumented one…) instead of
   * the default transport: Node's http/https in Node, the platform's `fetch` elsewhere. In Node,
   * `fetch: globalThis.fetch` chooses Node's own fetch.
   */
  readonly fetch?: FetchFunction;
}

export interface ResolvedOptions {
  readonly headers: Readonly<Record<string, string>>;
  readonly sectorSize: number;
  readonly blockSize: number;
  readonly cacheBytes: number;
  readonly readahead: number;
  readonly concurrency: number;
  readonly maxRequestBytes: number;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly maxPendingReads: number;
  /** The caller's `fetch`, if any. */
  readonly fetch: FetchFunction | undefined;
}

/** Past this a retry waits no longer, whatever the backoff or Retry-After says. */
export const MAX_RETRY_DELAY_MS = 5000;

const KiB = 1024;
const MiB = 1024 * KiB;

function integer(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new BlockError('INVALID_ARGUMENT', `${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

const OWN_HEADERS = new Set(['range', 'if-range']);
/** A header name (RFC 9110 token). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Fills in the defaults and refuses what cannot work, with INVALID_ARGUMENT. */
export function resolveOptions(options: HttpOptions): ResolvedOptions {
  const sectorSize = options.sectorSize ?? 512;
  checkSectorSize(sectorSize);
  const blockSize = integer('blockSize', options.blockSize, Math.max(16 * KiB, sectorSize), sectorSize, 64 * MiB);
  if ((blockSize & (blockSize - 1)) !== 0 || blockSize % sectorSize !== 0) {
    throw new BlockError(
      'INVALID_ARGUMENT',
      `blockSize ${blockSize} must be a power of two and a multiple of the ${sectorSize}-byte sector`,
    );
  }
  const maxRequestBytes = integer('maxRequestBytes', options.maxRequestBytes, Math.max(4 * MiB, blockSize), blockSize, 1024 * MiB);
  const headers = options.headers ?? {};
  for (const [name, value] of Object.entries(headers)) {
    if (OWN_HEADERS.has(name.toLowerCase()))
      throw new BlockError('INVALID_ARGUMENT', `headers must not set ${name}: the device sends its own`);
    if (!TOKEN.test(name) || typeof value !== 'string' || /[\r\n\0]/.test(value)) {
      throw new BlockError('INVALID_ARGUMENT', `header ${JSON.stringify(name)} is not a header name with a one-line string value`);
    }
  }
  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    throw new BlockError('INVALID_ARGUMENT', `fetch must be a function, got ${typeof options.fetch}`);
  }
  return {
    headers,
    sectorSize,
    blockSize,
    maxRequestBytes: Math.floor(maxRequestBytes / blockSize) * blockSize,
    cacheBytes: integer('cacheBytes', options.cacheBytes, 64 * MiB, 0, Number.MAX_SAFE_INTEGER),
    readahead: integer('readahead', options.readahead, 32 * MiB, 0, 1024 * MiB),
    concurrency: integer('concurrency', options.concurrency, 8, 1, 64),
    timeoutMs: integer('timeoutMs', options.timeoutMs, 30_000, 1, 3_600_000),
    retries: integer('retries', options.retries, 3, 0, 100),
    retryDelayMs: integer('retryDelayMs', options.retryDelayMs, 200, 0, MAX_RETRY_DELAY_MS),
    maxPendingReads: integer('maxPendingReads', options.maxPendingReads, 1024, 1, 1 << 20),
    fetch: options.fetch,
  };
}
