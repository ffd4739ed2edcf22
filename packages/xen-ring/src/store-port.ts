import { settled, toBlockError } from '@blk/core';
import type { MessagePort } from 'node:worker_threads';
import type { XenbusHandle, XenbusStore } from './xenbus-store.js';

// A XenbusStore carried over a MessagePort, so that a backend in a worker thread runs its
// handshake against the store of the main thread (an in-memory one, or a real xenstore client).
// Callbacks stay where they were written: the main thread runs `immediate`/`transaction`/`wait` on
// the real store and asks the worker to run one pass of the callback ("run"); the callback's
// handle operations travel back as requests. A transaction retried on conflict, or a wait woken by
// a change, is simply another run. Results stay in the worker; only errors are serialised.

type Kind = 'immediate' | 'transaction' | 'wait';
type HandleOp = 'read' | 'write' | 'directory' | 'rm' | 'mkdir' | 'getdomainpath' | 'setperms';

interface WireError {
  readonly name: string;
  readonly message: string;
  readonly code?: unknown;
}

type ToMain =
  | { readonly t: 'begin'; readonly call: number; readonly kind: Kind }
  | {
      readonly t: 'op';
      readonly call: number;
      readonly run: number;
      readonly req: number;
      readonly op: HandleOp;
      readonly args: readonly unknown[];
    }
  | { readonly t: 'ran'; readonly call: number; readonly run: number; readonly error?: WireError }
  | { readonly t: 'abort'; readonly call: number };

type ToWorker =
  | { readonly t: 'run'; readonly call: number; readonly run: number }
  | { readonly t: 'result'; readonly req: number; readonly value?: unknown; readonly error?: WireError }
  | { readonly t: 'end'; readonly call: number; readonly error?: WireError };

const HANDLE_OPS: readonly HandleOp[] = ['read', 'write', 'directory', 'rm', 'mkdir', 'getdomainpath', 'setperms'];

function toWire(error: unknown): WireError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return toWire(toBlockError(error, 'xenbus store call failed'));
}

function fromWire(wire: WireError): Error {
  const error = new Error(wire.message);
  error.name = wire.name;
  if (wire.code !== undefined) Object.assign(error, { code: wire.code });
  return error;
}

/** The main thread's side: serves `store` to the PortXenbusStore at the other end of `port`. */
export function serveStoreOverPort(store: XenbusStore, port: MessagePort): { close(): void } {
  interface Run {
    readonly handle: XenbusHandle;
    readonly resolve: () => void;
    readonly reject: (error: Error) => void;
  }
  const calls = new Map<number, { readonly runs: Map<number, Run>; readonly abort: AbortController }>();
  let nextRun = 1;
  const post = (message: ToWorker) => {
    port.postMessage(message);
  };
  const onMessage = (message: ToMain) => {
    switch (message.t) {
      case 'begin': {
        const { call, kind } = message;
        const entry = { runs: new Map<number, Run>(), abort: new AbortController() };
        calls.set(call, entry);
        const fn = (handle: XenbusHandle) =>
          new Promise<undefined>((resolve, reject) => {
            const run = nextRun++;
            entry.runs.set(run, { handle, resolve: () => resolve(undefined), reject });
            post({ t: 'run', call, run });
          });
        const work = kind === 'wait' ? store.wait(fn, { signal: entry.abort.signal }) : store[kind](fn);
        work.then(
          () => {
            calls.delete(call);
            post({ t: 'end', call });
          },
          (error: unknown) => {
            calls.delete(call);
            post({ t: 'end', call, error: toWire(error) });
          },
        );
        return;
      }
      case 'op': {
        const run = calls.get(message.call)?.runs.get(message.run);
        const { req } = message;
        if (!run || !HANDLE_OPS.includes(message.op)) {
          post({ t: 'result', req, error: { name: 'Error', message: 'handle used outside its run', code: 'EINVAL' } });
          return;
        }
        const method = (run.handle as unknown as Record<string, unknown>)[message.op];
        if (typeof method !== 'function') {
          post({ t: 'result', req, error: { name: 'Error', message: `${message.op} not supported by this store`, code: 'ENOSYS' } });
          return;
        }
        (method as (...args: unknown[]) => Promise<unknown>).apply(run.handle, [...message.args]).then(
          (value) => {
            post({ t: 'result', req, value });
          },
          (error: unknown) => {
            post({ t: 'result', req, error: toWire(error) });
          },
        );
        return;
      }
      case 'ran': {
        const entry = calls.get(message.call);
        const run = entry?.runs.get(message.run);
        if (!entry || !run) return;
        entry.runs.delete(message.run);
        if (message.error) run.reject(fromWire(message.error));
        else run.resolve();
        return;
      }
      case 'abort':
        calls.get(message.call)?.abort.abort();
        return;
    }
  };
  port.on('message', onMessage);
  return {
    close() {
      port.off('message', onMessage);
      for (const entry of calls.values()) entry.abort.abort();
      port.close();
    },
  };
}

interface PendingCall {
  readonly fn: (h: XenbusHandle) => Promise<unknown>;
  last: unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

/** The worker's side: a XenbusStore whose operations are performed by the thread across `port`. */
export class PortXenbusStore implements XenbusStore {
  readonly #port: MessagePort;
  readonly #calls = new Map<number, PendingCall>();
  readonly #requests = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #nextCall = 1;
  #nextReq = 1;

  constructor(port: MessagePort) {
    this.#port = port;
    port.on('message', (message: ToWorker) => {
      this.#receive(message);
    });
  }

  immediate<T>(fn: (h: XenbusHandle) => Promise<T>): Promise<T> {
    return this.#call('immediate', fn);
  }

  transaction<T>(fn: (h: XenbusHandle) => Promise<T>): Promise<T> {
    return this.#call('transaction', fn);
  }

  wait<T>(fn: (h: XenbusHandle) => Promise<T>, options: { signal?: AbortSignal } = {}): Promise<T> {
    return this.#call('wait', fn, options.signal);
  }

  /** Stops listening; calls still pending never settle. */
  close(): void {
    this.#port.close();
  }

  #call<T>(kind: Kind, fn: (h: XenbusHandle) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    const call = this.#nextCall++;
    return new Promise<T>((resolve, reject) => {
      this.#calls.set(call, { fn, last: undefined, resolve: resolve as (value: unknown) => void, reject });
      this.#post({ t: 'begin', call, kind });
      signal?.addEventListener(
        'abort',
        () => {
          if (this.#calls.has(call)) this.#post({ t: 'abort', call });
        },
        { once: true },
      );
    });
  }

  #post(message: ToMain): void {
    this.#port.postMessage(message);
  }

  #receive(message: ToWorker): void {
    switch (message.t) {
      case 'run': {
        const pending = this.#calls.get(message.call);
        if (!pending) return;
        const { call, run } = message;
        const result: Promise<unknown> = settled(() => pending.fn(this.#handle(call, run)));
        result.then(
          (value) => {
            pending.last = value;
            this.#post({ t: 'ran', call, run });
          },
          (error: unknown) => {
            this.#post({ t: 'ran', call, run, error: toWire(error) });
          },
        );
        return;
      }
      case 'result': {
        const request = this.#requests.get(message.req);
        if (!request) return;
        this.#requests.delete(message.req);
        if (message.error) request.reject(fromWire(message.error));
        else request.resolve(message.value);
        return;
      }
      case 'end': {
        const pending = this.#calls.get(message.call);
        if (!pending) return;
        this.#calls.delete(message.call);
        if (message.error) pending.reject(fromWire(message.error));
        else pending.resolve(pending.last);
        return;
      }
    }
  }

  #handle(call: number, run: number): XenbusHandle {
    const request = <T>(op: HandleOp, args: readonly unknown[]) =>
      new Promise<T>((resolve, reject) => {
        const req = this.#nextReq++;
        this.#requests.set(req, { resolve: resolve as (value: unknown) => void, reject });
        this.#post({ t: 'op', call, run, req, op, args });
      });
    return {
      read: (path) => request<string>('read', [path]),
      write: (path, value) => request<undefined>('write', [path, value]).then(() => undefined),
      directory: (path) => request<string[]>('directory', [path]),
      rm: (path) => request<undefined>('rm', [path]).then(() => undefined),
      mkdir: (path) => request<undefined>('mkdir', [path]).then(() => undefined),
      getdomainpath: (domid) => request<string>('getdomainpath', [domid]),
      setperms: (path, permissions) => request<undefined>('setperms', [path, [...permissions]]).then(() => undefined),
    };
  }
}
