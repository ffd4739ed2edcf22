// Interdomain event channels over shared memory. Each port is four Int32 words: STATE, the
// domain allowed to bind, and one counter per direction. Notifying adds 1 to the peer's counter
// and wakes it (Atomics.notify); a waiter sleeps with Atomics.waitAsync on the value it last saw,
// so a notification that lands between its last look at the ring and its sleep is never lost.

const WORDS = 4;
const STATE = 0;
const REMOTE = 1;
/** Counter the allocating end waits on. */
const TO_LOCAL = 2;
/** Counter the binding end waits on. */
const TO_REMOTE = 3;

// Atomics.waitAsync is in Node 20 but not in the es2022 library this package compiles against.
type WaitAsyncResult =
  | { readonly async: false; readonly value: 'not-equal' | 'timed-out' }
  | { readonly async: true; readonly value: Promise<'ok' | 'timed-out'> };
const waitAsync = (Atomics as unknown as { waitAsync: (array: Int32Array, index: number, value: number) => WaitAsyncResult }).waitAsync;

const FREE = 0;
const UNBOUND = 1;
const BOUND = 2;

/** One end of a bound (or about to be bound) channel. */
export class EventChannel {
  readonly port: number;
  readonly #words: Int32Array;
  readonly #mine: number;
  readonly #peer: number;
  #closed = false;

  constructor(words: Int32Array, port: number, side: 'local' | 'remote') {
    this.#words = words;
    this.port = port;
    this.#mine = port * WORDS + (side === 'local' ? TO_LOCAL : TO_REMOTE);
    this.#peer = port * WORDS + (side === 'local' ? TO_REMOTE : TO_LOCAL);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** This end's counter: read it before the final check, then `wait` on it. */
  get value(): number {
    return Atomics.load(this.#words, this.#mine);
  }

  /** Signals the other end. */
  notify(): void {
    if (this.#closed) return;
    Atomics.add(this.#words, this.#peer, 1);
    Atomics.notify(this.#words, this.#peer);
  }

  /**
   * Resolves once this end's counter differs from `seen` (at once if it already does). Does not
   * keep the event loop alive: whoever waits must hold something that does.
   */
  wait(seen: number): Promise<unknown> {
    const result = waitAsync(this.#words, this.#mine, seen);
    return result.async ? result.value : Promise.resolve();
  }

  /**
   * Blocks the thread (Atomics.wait) until this end's counter differs from `seen`, or for at most
   * `timeoutMs`. Only for a thread that has nothing else to do meanwhile; never the main thread.
   * Returns true if woken (or the counter had already moved).
   */
  waitBlocking(seen: number, timeoutMs: number): boolean {
    return Atomics.wait(this.#words, this.#mine, seen, timeoutMs) !== 'timed-out';
  }

  /** Wakes this end's own waiter (to make it look at its state), as if the peer had notified. */
  interrupt(): void {
    Atomics.add(this.#words, this.#mine, 1);
    Atomics.notify(this.#words, this.#mine);
  }

  /** Stops notifications from this end and wakes its own waiter. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.interrupt();
  }
}

/** A domain's event-channel ports in a SharedArrayBuffer, shared with the domains it talks to. */
export class EventChannelTable {
  readonly ports: number;
  readonly #words: Int32Array;

  constructor(buffer: SharedArrayBuffer) {
    this.#words = new Int32Array(buffer);
    this.ports = Math.floor(this.#words.length / WORDS);
  }

  static allocate(ports: number): SharedArrayBuffer {
    return new SharedArrayBuffer(ports * WORDS * 4);
  }

  /** EVTCHNOP_alloc_unbound: a fresh port that only `remoteDomid` may bind. Port 0 is never used. */
  allocUnbound(remoteDomid: number): EventChannel {
    for (let port = 1; port < this.ports; port++) {
      const base = port * WORDS;
      if (Atomics.compareExchange(this.#words, base + STATE, FREE, UNBOUND) !== FREE) continue;
      Atomics.store(this.#words, base + REMOTE, remoteDomid);
      return new EventChannel(this.#words, port, 'local');
    }
    throw new Error('no free event channel port');
  }

  /** EVTCHNOP_bind_interdomain by `domid`: undefined unless the port is unbound and meant for it. */
  bindInterdomain(port: number, domid: number): EventChannel | undefined {
    if (!Number.isInteger(port) || port < 1 || port >= this.ports) return undefined;
    const base = port * WORDS;
    if (Atomics.load(this.#words, base + REMOTE) >>> 0 !== domid >>> 0) return undefined;
    if (Atomics.compareExchange(this.#words, base + STATE, UNBOUND, BOUND) !== UNBOUND) return undefined;
    return new EventChannel(this.#words, port, 'remote');
  }

  /** The remote end gives the port back (it may be bound again by the same domain). */
  unbind(port: number): void {
    if (!Number.isInteger(port) || port < 1 || port >= this.ports) return;
    Atomics.compareExchange(this.#words, port * WORDS + STATE, BOUND, UNBOUND);
  }

  /** EVTCHNOP_close by the allocating end: the port becomes free. */
  free(port: number): void {
    if (!Number.isInteger(port) || port < 1 || port >= this.ports) return;
    Atomics.store(this.#words, port * WORDS + STATE, FREE);
  }
}
