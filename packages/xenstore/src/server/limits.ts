/**
 * Resource limits that apply to every connection, privileged or not (unlike `Quotas`, which
 * follow C xenstored and exempt dom0). They bound what one client can make the server hold.
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
   * Nodes changed elsewhere that one open transaction's snapshot may keep pre-images of. Past it
   * the transaction is ended (EAGAIN, as for a conflict) and the pre-images are freed.
   */
  readonly transactionSnapshotNodes: number;
}

export const DEFAULT_LIMITS: ServerLimits = Object.freeze({
  outputBytes: 1024 * 1024,
  transactionTimeoutMs: 30_000,
  transactionSnapshotNodes: 4096,
});

const MIN_OUTPUT_BYTES = 64 * 1024;

/** Defaults overridden by `given`; RangeError for values that are not positive integers. */
export function resolveLimits(given: Partial<ServerLimits> = {}): ServerLimits {
  const limits = { ...DEFAULT_LIMITS, ...given };
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`limit ${key} must be a positive integer, got ${String(value)}`);
  }
  if (limits.outputBytes < MIN_OUTPUT_BYTES) throw new RangeError(`limit outputBytes must be at least ${MIN_OUTPUT_BYTES}`);
  return Object.freeze(limits);
}
