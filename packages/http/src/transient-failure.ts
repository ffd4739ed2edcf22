import type { TransportResponse } from './transport.js';

/** A failure worth another try: the connection, a timeout, or a status that says "later". */
export class TransientFailure extends Error {
  override readonly name = 'TransientFailure';

  constructor(
    readonly reason: 'NETWORK' | 'TIMEOUT' | 'STATUS',
    message: string,
    readonly status?: number,
    /** What the server's Retry-After asked for, in milliseconds. */
    readonly retryAfterMs?: number,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

/** Statuses that say "try again": request timeout, too many requests, and every 5xx. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}

/** A Retry-After header (seconds, or an HTTP date) in milliseconds from `now`; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The transient failure a response with a retryable status means. */
export function transientStatus(response: TransportResponse): TransientFailure {
  return new TransientFailure(
    'STATUS',
    `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`,
    response.status,
    retryAfterMs(response.headers.get('retry-after')),
  );
}
