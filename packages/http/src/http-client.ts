import { BlockError } from '@blk/core';
import { HttpDeviceError } from './http-error.js';
import { MAX_RETRY_DELAY_MS, type ResolvedOptions } from './options.js';
import { TransientFailure } from './transient-failure.js';
import type { Transport, TransportResponse } from './transport.js';

/**
 * One request's inactivity timer: no headers or body bytes for `timeoutMs` aborts it. `touch()` is
 * called per body chunk, so it only notes the time; the timer checks it when it fires.
 */
export class Attempt {
  timedOut = false;
  readonly #timeoutMs: number;
  #abort: () => void = () => undefined;
  #last = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
    this.#last = performance.now();
    this.#arm(timeoutMs);
  }

  /** What aborting this attempt does (the transport request's abort). */
  set onAbort(abort: () => void) {
    this.#abort = abort;
  }

  /** Something arrived: the timeout counts from now. */
  touch(): void {
    this.#last = performance.now();
  }

  abort(): void {
    this.#abort();
  }

  end(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => {
      const idle = performance.now() - this.#last;
      if (idle < this.#timeoutMs) {
        this.#arm(Math.ceil(this.#timeoutMs - idle));
        return;
      }
      this.timedOut = true;
      this.#abort();
    }, ms);
  }
}

function describeCause(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}

/**
 * The requests of one device: every one bounded in time and aborted by `close()`, transient
 * failures retried with exponential backoff. Holds no queue of its own: callers bound how many
 * requests they start.
 */
export class HttpClient {
  readonly url: string;
  readonly options: ResolvedOptions;
  readonly transport: Transport;
  #closed = false;
  readonly #attempts = new Set<Attempt>();
  readonly #sleepers = new Set<() => void>();

  constructor(url: string, options: ResolvedOptions, transport: Transport) {
    this.url = url;
    this.options = options;
    this.transport = transport;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends one request and lets `use` read the response while the inactivity timer and `close()`
   * still apply. Throws a TransientFailure for a network error or timeout, DISCONNECTED after
   * `close()`, and whatever `use` throws. When `use` returns, the response is released (a body
   * read to its end keeps its connection); when it throws, the request is aborted.
   */
  async once<T>(
    method: 'GET' | 'HEAD',
    headers: Readonly<Record<string, string>>,
    use: (response: TransportResponse, attempt: Attempt) => T | Promise<T>,
  ): Promise<T> {
    if (this.#closed) throw BlockError.disconnected();
    const attempt = new Attempt(this.options.timeoutMs);
    this.#attempts.add(attempt);
    try {
      const request = this.transport.request(method, this.url, { ...this.options.headers, ...headers });
      attempt.onAbort = () => {
        request.abort();
      };
      const response = await request.response;
      attempt.touch();
      try {
        const result = await use(response, attempt);
        response.release();
        return result;
      } catch (error) {
        // Frees the connection of a body nobody will read (a 200 with the whole file, an error page).
        request.abort();
        throw error;
      }
    } catch (error) {
      // `close()` may have run while the request was in flight.
      if (this.closed) throw BlockError.disconnected();
      if (error instanceof TransientFailure || error instanceof BlockError) throw error;
      if (attempt.timedOut)
        throw new TransientFailure('TIMEOUT', `no response for ${this.options.timeoutMs} ms`, undefined, undefined, error);
      throw new TransientFailure('NETWORK', describeCause(error), undefined, undefined, error);
    } finally {
      attempt.end();
      this.#attempts.delete(attempt);
    }
  }

  /** Runs `task` until it succeeds, retrying TransientFailures `retries` times with backoff. */
  async retrying<T>(what: string, task: () => Promise<T>): Promise<T> {
    for (let tries = 1; ; tries++) {
      try {
        return await task();
      } catch (error) {
        if (!(error instanceof TransientFailure)) throw error;
        if (tries > this.options.retries) {
          const attempts = tries === 1 ? '' : ` (${tries} attempts)`;
          throw new HttpDeviceError('IO', error.reason, this.url, `${what} failed${attempts}: ${error.message}`, {
            status: error.status,
            cause: error,
          });
        }
        await this.#sleep(this.#backoff(tries, error.retryAfterMs));
      }
    }
  }

  #backoff(tries: number, retryAfter: number | undefined): number {
    const exponential = this.options.retryDelayMs * 2 ** (tries - 1);
    // Jitter in [0.5, 1): retries of many readers do not all land at once.
    const delay = exponential * (0.5 + Math.random() / 2);
    return Math.min(MAX_RETRY_DELAY_MS, Math.max(delay, retryAfter ?? 0));
  }

  #sleep(ms: number): Promise<void> {
    if (this.#closed) return Promise.reject(BlockError.disconnected());
    return new Promise((resolve, reject) => {
      const wake = () => {
        clearTimeout(timer);
        this.#sleepers.delete(wake);
        if (this.#closed) reject(BlockError.disconnected());
        else resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#sleepers.add(wake);
    });
  }

  /** Aborts every request in flight and every retry waiting; later requests reject DISCONNECTED. */
  close(): void {
    this.#closed = true;
    for (const attempt of this.#attempts) attempt.abort();
    for (const wake of [...this.#sleepers]) wake();
    this.transport.close();
  }
}
