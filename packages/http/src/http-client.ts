import { BlockError } from '@blk/core';
import { HttpDeviceError } from './http-error.js';
import { MAX_RETRY_DELAY_MS, type ResolvedOptions } from './options.js';
import { TransientFailure } from './transient-failure.js';

/** One request's abort handle and inactivity timer: no headers or body bytes for `timeoutMs` aborts it. */
export class Attempt {
  readonly controller = new AbortController();
  timedOut = false;
  readonly #timeoutMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
    this.touch();
  }

  /** Something arrived: the timer starts again. */
  touch(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort();
    }, this.#timeoutMs);
  }

  end(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
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
  #closed = false;
  readonly #attempts = new Set<Attempt>();
  readonly #sleepers = new Set<() => void>();

  constructor(url: string, options: ResolvedOptions) {
    this.url = url;
    this.options = options;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends one request and lets `use` read the response while the inactivity timer and `close()`
   * still apply. Throws a TransientFailure for a network error or timeout, DISCONNECTED after
   * `close()`, and whatever `use` throws. `use` reads the body to its end, or throws: then the
   * request is aborted, which releases its connection (aborting a finished request would cost
   * the keep-alive connection).
   */
  async once<T>(
    method: 'GET' | 'HEAD',
    headers: Readonly<Record<string, string>>,
    use: (response: Response, attempt: Attempt) => T | Promise<T>,
  ): Promise<T> {
    if (this.#closed) throw BlockError.disconnected();
    const attempt = new Attempt(this.options.timeoutMs);
    this.#attempts.add(attempt);
    try {
      const response = await this.options.fetch(this.url, {
        method,
        headers: { ...this.options.headers, ...headers },
        signal: attempt.controller.signal,
        redirect: 'follow',
      });
      attempt.touch();
      return await use(response, attempt);
    } catch (error) {
      // Frees the connection of a body nobody will read (a 200 with the whole file, an error page).
      attempt.controller.abort();
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
    for (const attempt of this.#attempts) attempt.controller.abort();
    for (const wake of [...this.#sleepers]) wake();
  }
}
