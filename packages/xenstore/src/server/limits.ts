/**
 * Resource limits. The first three apply to every connection, privileged or not (unlike
 * `Quotas`, which follow C xenstored and exempt dom0); the `domain…` ones apply to each
 * unprivileged domain over all its connections (dom0 and `privilegedDomid` are exempt, as from C
 * xenstored's write rate limit: every socket client is dom0, the toolstack, and one socket
 * client cannot hold the others up since each is bounded by the per-connection limits).
 */
export interface ServerLimits {
  /**
   * Bytes queued for one connection (replies and watch events not yet taken by the client,
   * including those waiting for the disk). At the limit the server stops reading that
   * connection's requests; a watch event that does not fit is dropped, and once the queue is
   * down to half the connection gets one event per affected watch with the watch's own path
   * (spurious events are allowed; the client re-reads). Minimum 64 KiB.
   */
  readonly outputBytes: number;
  /** A transaction open longer than this (ms) is ended: its requests and its commit get EAGAIN. */
  readonly transactionTimeoutMs: number;
  /**
   * Changes made elsewhere since an open transaction started that its snapshot may have to
   * remember (replaced states kept in the store's one shared log: a node's first change after
   * the newest snapshot, every creation). Past it the transaction is ended (EAGAIN, as for a
   * conflict) and what only it needed is freed.
   */
  readonly transactionSnapshotNodes: number;
  /** Connections one unprivileged domain may have open at once; one more is closed at once (logged). */
  readonly domainConnections: number;
  /**
   * Bytes queued over all connections of one unprivileged domain. At the limit the server stops
   * reading every connection of that domain and drops its watch events, as `outputBytes` does
   * for one connection. Minimum 64 KiB.
   */
  readonly domainOutputBytes: number;
  /**
   * Requests per second one unprivileged domain may have answered, sustained (a token bucket
   * refilled at this rate). A domain out of credit has its requests held — not refused — until
   * credit comes back; the others are served meanwhile.
   */
  readonly domainRequestRate: number;
  /** Requests a domain may have answered at once after being quiet (the bucket's size). */
  readonly domainRequestBurst: number;
  /**
   * Requests per second each privileged connection (every socket client, in-process dom0) may
   * have answered, with a burst of `domainRequestBurst`. `Infinity` (the default) exempts them,
   * as C xenstored does; a number caps each such client on its own, for hosts where processes
   * that are not the toolstack can reach the socket.
   */
  readonly privilegedRequestRate: number;
}

export const DEFAULT_LIMITS: ServerLimits = Object.freeze({
  outputBytes: 1024 * 1024,
  transactionTimeoutMs: 30_000,
  transactionSnapshotNodes: 4096,
  domainConnections: 8,
  domainOutputBytes: 4 * 1024 * 1024,
  domainRequestRate: 2000,
  domainRequestBurst: 500,
  privilegedRequestRate: Infinity,
});

const MIN_OUTPUT_BYTES = 64 * 1024;

/** Defaults overridden by `given`; RangeError for values that are not positive integers (or Infinity where allowed). */
export function resolveLimits(given: Partial<ServerLimits> = {}): ServerLimits {
  const limits = { ...DEFAULT_LIMITS, ...given };
  for (const [key, value] of Object.entries(limits)) {
    if (key === 'privilegedRequestRate' && value === Infinity) continue;
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`limit ${key} must be a positive integer, got ${String(value)}`);
  }
  for (const key of ['outputBytes', 'domainOutputBytes'] as const) {
    if (limits[key] < MIN_OUTPUT_BYTES) throw new RangeError(`limit ${key} must be at least ${MIN_OUTPUT_BYTES}`);
  }
  return Object.freeze(limits);
}
