import { createConnection } from 'node:net';
import type { Duplex } from 'node:stream';
import { XenstoreError, hasCode, isEagain } from '../errors.js';
import { decodeOk, decodeTransactionId, type WatchEvent } from '../codec/replies.js';
import { requests, type Request } from '../codec/requests.js';
import { Connection } from './connection.js';
import { Handle, type RequestSink } from './handle.js';

/** Where to find the server: a Unix socket path, or any duplex stream already connected to one. */
export type ConnectOptions = { readonly path: string } | { readonly stream: Duplex };

export interface TransactionOptions {
  /** Attempts before giving up with EAGAIN (default 100). */
  readonly maxAttempts?: number;
  /** Checked before each attempt. */
  readonly signal?: AbortSignal;
}

export interface WaitOptions {
  readonly signal?: AbortSignal;
}

export type WatchListener = (event: WatchEvent) => void;

interface WatchEntry {
  readonly path: string;
  readonly token: string;
  readonly depth: number | undefined;
}

interface WaitState {
  /** Paths this wait has a watch on, on the current connection. */
  readonly watched: Set<string>;
  dirty: boolean;
  wake: (() => void) | undefined;
  failure: Error | undefined;
}

const DEFAULT_ATTEMPTS = 100;

/** Tokens of `wait`'s own watches; their events never reach `onWatch` listeners. */
const WAIT_TOKEN_PREFIX = 'blk.wait:';

function openSocket(path: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path });
    const onError = (error: Error) => {
      reject(new XenstoreError('ENOTCONN', `cannot connect to ${path}: ${error.message}`, { cause: error }));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/** Connects to a xenstored over a Unix socket (`{ path }`) or an existing stream (`{ stream }`). */
export async function connect(options: ConnectOptions): Promise<Client> {
  if ('stream' in options) return new Client(options.stream);
  return new Client(await openSocket(options.path), options.path);
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** True unless the wait must re-run at once (an event came in, it was aborted or failed). */
function wakeNeeded(state: WaitState, signal: AbortSignal | undefined): boolean {
  return state.dirty || signal?.aborted === true || state.failure !== undefined;
}

/** Waits `ms` milliseconds; under one millisecond (timers cannot do less) just yields to I/O. */
function backOff(ms: number): Promise<void> {
  return new Promise((resolve) => (ms < 1 ? setImmediate(resolve) : setTimeout(resolve, ms)));
}

/**
 * A xenstore client: one connection, requests multiplexed by req_id, watch events routed by
 * token. Work happens in runs — `immediate`, `transaction`, `wait` — that hand a `Handle` to a
 * callback. Structurally satisfies `XenbusStore` as @blk/xen-ring declares it.
 */
export class Client {
  #connection: Connection;
  readonly #path: string | undefined;
  #closed = false;
  #suspended: { promise: Promise<void>; resolve: () => void } | undefined;
  #active = 0;
  #drainWaiters: (() => void)[] = [];
  readonly #watches = new Map<string, WatchEntry>();
  readonly #listeners = new Set<WatchListener>();
  readonly #routes = new Map<string, WaitState>();
  #nextToken = 1;
  readonly #sink: RequestSink;

  /** Prefer `connect`. `path` lets `resume` reconnect after `suspend`. */
  constructor(stream: Duplex, path?: string) {
    this.#path = path;
    this.#connection = this.#attach(stream);
    this.#sink = {
      send: (request, txId, decode) => this.#send(request, txId, decode),
      watchAdded: (path, token, depth) => {
        this.#watches.set(`${path}\0${token}`, { path, token, depth });
      },
      watchRemoved: (path, token) => {
        this.#watches.delete(`${path}\0${token}`);
      },
    };
  }

  get closed(): boolean {
    return this.#closed;
  }

  get suspended(): boolean {
    return this.#suspended !== undefined;
  }

  /**
   * Listens to watch events set with `Handle.watch` (not `wait`'s own). Returns the unsubscriber.
   * A listener that throws is reported as a process warning (type `XenstoreWatchListenerError`);
   * the other listeners and every reply still get through.
   */
  onWatch(listener: WatchListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Runs `fn` outside any transaction. */
  async immediate<T>(fn: (handle: Handle) => Promise<T>): Promise<T> {
    await this.#enter();
    try {
      return await fn(new Handle(this.#sink, 0));
    } finally {
      this.#leave();
    }
  }

  /**
   * Runs `fn` in a transaction and commits it. On EAGAIN (a conflicting change) the whole run is
   * repeated, at most `maxAttempts` times. When `fn` throws the transaction is ended with "F"
   * (abort) and the error rethrown; a transaction is never left open.
   */
  async transaction<T>(fn: (handle: Handle) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const maxAttempts = options.maxAttempts ?? DEFAULT_ATTEMPTS;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
      throw new XenstoreError('EINVAL', `maxAttempts must be a positive integer, got ${maxAttempts}`);
    }
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (options.signal?.aborted) throw abortReason(options.signal);
      await this.#enter();
      try {
        const txId = decodeTransactionId(await this.#send(requests.transactionStart(), 0));
        let result: T;
        try {
          result = await fn(new Handle(this.#sink, txId));
        } catch (error) {
          await this.#send(requests.transactionEnd(false), txId).catch(() => undefined);
          throw error;
        }
        try {
          decodeOk(await this.#send(requests.transactionEnd(true), txId));
          return result;
        } catch (error) {
          if (!hasCode(error, 'EAGAIN')) throw error;
        }
      } finally {
        this.#leave();
      }
      // Retry at once at first (each round of conflicts has a winner); once others keep winning,
      // back off a random, growing time so that contenders spread out.
      if (attempt >= 8) await backOff(Math.random() * Math.min(2 ** (attempt - 8), 32));
    }
    throw new XenstoreError('EAGAIN', `transaction still conflicting after ${maxAttempts} attempts`);
  }

  /**
   * Runs `fn` until it returns. `fn` throws `Eagain` (any error named 'Eagain') for "not yet";
   * `wait` then watches exactly the paths `fn` read on that run (READ, DIRECTORY, GET_PERMS) and
   * runs it again when one of them changes. Watches that fail (quota: E2BIG, ENOSPC, EQUOTA…)
   * reject the wait; every watch it set is removed when it settles, ENOENT on unwatch tolerated.
   */
  async wait<T>(fn: (handle: Handle) => Promise<T>, options: WaitOptions = {}): Promise<T> {
    const { signal } = options;
    if (signal?.aborted) throw abortReason(signal);
    if (this.#closed) throw new XenstoreError('ENOTCONN', 'client is closed');
    const token = `${WAIT_TOKEN_PREFIX}${this.#nextToken++}`;
    const state: WaitState = { watched: new Set(), dirty: false, wake: undefined, failure: undefined };
    this.#routes.set(token, state);
    const { watched } = state;
    const onAbort = () => {
      state.wake?.();
    };
    signal?.addEventListener('abort', onAbort);
    try {
      for (;;) {
        if (signal?.aborted) throw abortReason(signal);
        if (state.failure) throw state.failure;
        state.dirty = false;
        const touched = new Set<string>();
        await this.#enter();
        try {
          try {
            return await fn(new Handle(this.#sink, 0, touched));
          } catch (error) {
            if (!isEagain(error)) throw error;
          }
          for (const path of [...watched]) {
            if (touched.has(path)) continue;
            await this.#unwatchQuietly(path, token);
            watched.delete(path);
          }
          for (const path of touched) {
            if (watched.has(path)) continue;
            decodeOk(await this.#send(requests.watch(path, token), 0));
            watched.add(path);
          }
        } finally {
          this.#leave();
        }
        if (!wakeNeeded(state, signal)) {
          await new Promise<void>((resolve) => {
            state.wake = resolve;
          });
          state.wake = undefined;
        }
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.#routes.delete(token);
      // Best effort: the wait's own outcome (a result, or a quota error) must not be masked.
      for (const path of watched) await this.#unwatchQuietly(path, token).catch(() => undefined);
    }
  }

  /**
   * Stops starting new work (runs wait until `resume`), lets the runs in progress finish, then,
   * for a client connected by path, closes the connection.
   */
  async suspend(): Promise<void> {
    if (this.#closed) throw new XenstoreError('ENOTCONN', 'client is closed');
    if (this.#suspended) return;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.#suspended = { promise, resolve };
    if (this.#active > 0) await new Promise<void>((r) => this.#drainWaiters.push(r));
    // resume() may have been called while we drained.
    if (this.#path !== undefined && this.suspended) await this.#connection.close();
  }

  /**
   * Reconnects when the connection is gone (by path, or over `stream` if given), sets every
   * watch again (each fires its initial event, so waits re-check), and releases held runs.
   */
  async resume(stream?: Duplex): Promise<void> {
    if (this.#closed) throw new XenstoreError('ENOTCONN', 'client is closed');
    const replaced = stream !== undefined || this.#connection.closed;
    if (stream !== undefined) {
      await this.#connection.close();
      this.#connection = this.#attach(stream);
    } else if (this.#connection.closed) {
      if (this.#path === undefined) throw new XenstoreError('ENOTCONN', 'connection lost; pass a new stream to resume');
      this.#connection = this.#attach(await openSocket(this.#path));
    }
    let failure: Error | undefined;
    if (replaced) {
      // Set every watch again even if one fails (say, a quota); the first failure is reported.
      for (const w of [...this.#watches.values()]) {
        try {
          decodeOk(await this.#send(requests.watch(w.path, w.token, w.depth), 0));
        } catch (error) {
          failure ??= error instanceof Error ? error : new Error(String(error));
          this.#watches.delete(`${w.path}\0${w.token}`);
        }
      }
      // A wait's watches died with the old connection: forget them and re-run, which sets them again.
      for (const state of this.#routes.values()) {
        state.watched.clear();
        state.dirty = true;
        state.wake?.();
      }
    }
    const suspended = this.#suspended;
    this.#suspended = undefined;
    suspended?.resolve();
    if (failure !== undefined) throw failure;
  }

  /** Closes the connection. Pending requests and waits reject with ENOTCONN. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const error = new XenstoreError('ENOTCONN', 'client is closed');
    for (const state of this.#routes.values()) {
      state.failure = error;
      state.wake?.();
    }
    this.#suspended?.resolve();
    await this.#connection.close();
  }

  #attach(stream: Duplex): Connection {
    const connection: Connection = new Connection(stream, {
      onWatchEvent: (event) => {
        this.#onWatchEvent(event);
      },
      onClose: (error) => {
        // A deliberate disconnect (suspend, resume, close) is not a failure of the waits.
        if (this.#suspended || this.#closed || connection !== this.#connection) return;
        for (const state of this.#routes.values()) {
          state.failure = error;
          state.wake?.();
        }
      },
    });
    return connection;
  }

  #onWatchEvent(event: WatchEvent): void {
    const state = this.#routes.get(event.token);
    if (state) {
      state.dirty = true;
      state.wake?.();
      return;
    }
    // A late event for a wait that has settled.
    if (event.token.startsWith(WAIT_TOKEN_PREFIX)) return;
    for (const listener of this.#listeners) {
      // A throwing listener must neither stop the others nor the replies in the same chunk, nor
      // (thrown from a socket callback) take the process down: it becomes a process warning.
      try {
        listener(event);
      } catch (error) {
        process.emitWarning(`a xenstore watch listener threw on ${event.path}: ${(error as Error).message}`, {
          type: 'XenstoreWatchListenerError',
          detail: (error as Error).stack,
        });
      }
    }
  }

  #send<T = Uint8Array>(request: Request, txId: number, decode?: (payload: Uint8Array) => T): Promise<T> {
    if (this.#closed) return Promise.reject(new XenstoreError('ENOTCONN', 'client is closed'));
    return this.#connection.request(request, txId, decode);
  }

  async #unwatchQuietly(path: string, token: string): Promise<void> {
    try {
      decodeOk(await this.#send(requests.unwatch(path, token), 0));
    } catch (error) {
      if (!hasCode(error, 'ENOENT') && !hasCode(error, 'ENOTCONN')) throw error;
    }
  }

  async #enter(): Promise<void> {
    while (this.#suspended) await this.#suspended.promise;
    if (this.#closed) throw new XenstoreError('ENOTCONN', 'client is closed');
    this.#active++;
  }

  #leave(): void {
    this.#active--;
    if (this.#active === 0 && this.#suspended) {
      const waiters = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const w of waiters) w();
    }
  }
}
