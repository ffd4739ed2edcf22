type Immediate = (callback: () => void) => unknown;

/** Node's setImmediate when there is one; browsers and workers have none. */
const immediate = (globalThis as { setImmediate?: Immediate }).setImmediate;

/** The part of the DOM's MessageChannel used here (the Node typings describe another API). */
interface Channel {
  readonly port1: { onmessage: (() => void) | null };
  readonly port2: { postMessage(message: undefined): void };
}

let channel: Channel | undefined;
const queued: (() => void)[] = [];

/**
 * A macrotask through a MessageChannel: unlike `setTimeout(0)`, browsers do not clamp it to 4 ms
 * once nested, so a loop that yields on every chunk keeps its speed.
 */
function postTurn(callback: () => void): void {
  if (!channel) {
    channel = new (globalThis as unknown as { MessageChannel: new () => Channel }).MessageChannel();
    channel.port1.onmessage = () => queued.shift()?.();
  }
  queued.push(callback);
  channel.port2.postMessage(undefined);
}

/**
 * Resolves on a later turn of the event loop, after pending I/O callbacks have had their chance
 * (Node's `setImmediate`; a MessageChannel task in browsers and workers).
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    if (immediate) immediate(resolve);
    else postTurn(resolve);
  });
}

/** Resolves after `ms` milliseconds, or at once when `signal` aborts (it never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
