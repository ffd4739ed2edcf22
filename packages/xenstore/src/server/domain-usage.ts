import type { ServerLimits } from './limits.js';

/** What `DomainUsage` needs of a connection. */
export interface DomainMember {
  readonly queuedBytes: number;
  /** Asks the connection to try its waiting requests again (on a later turn). */
  wake(): void;
}

/** Credit asked for before a throttled domain is woken: wakes come in small batches, not per request. */
const WAKE_BATCH = 8;

/**
 * What one unprivileged domain holds and spends over all its connections: how many connections
 * it has, the bytes queued for them, and its request credit (a token bucket of
 * `domainRequestBurst` requests refilled at `domainRequestRate` per second; C xenstored's write
 * rate limit is the model, counting every request rather than writes only).
 */
export class DomainUsage<M extends DomainMember = DomainMember> {
  readonly domid: number;
  readonly connections = new Set<M>();
  /** Times the domain ran out of request credit and its requests were held. */
  throttled = 0;
  /** Times the domain's connections stopped being read because together they had `domainOutputBytes` queued. */
  outputStalls = 0;
  /** Requests admitted. */
  admitted = 0;
  readonly #limits: ServerLimits;
  readonly #now: () => number;
  readonly #log: (message: string) => void;
  readonly #label: string;
  #credit: number;
  #stamp: number;
  #timer: NodeJS.Timeout | undefined;
  #outOfCredit = false;
  #outOfRoom = false;

  /** `label` names the holder in log lines (default `domain <domid>`). */
  constructor(domid: number, limits: ServerLimits, now: () => number, log: (message: string) => void = () => undefined, label?: string) {
    this.domid = domid;
    this.#label = label ?? `domain ${domid}`;
    this.#limits = limits;
    this.#now = now;
    this.#log = log;
    this.#credit = limits.domainRequestBurst;
    this.#stamp = now();
  }

  get credit(): number {
    this.#refill();
    return this.#credit;
  }

  /** Bytes queued over all the domain's connections (at most `domainConnections` of them). */
  get queuedBytes(): number {
    let n = 0;
    for (const c of this.connections) n += c.queuedBytes;
    return n;
  }

  /** Whether one more request may be answered now: room in the domain's output and a credit, which it takes. */
  admit(): boolean {
    if (this.queuedBytes >= this.#limits.domainOutputBytes) {
      if (!this.#outOfRoom) {
        this.#outOfRoom = true;
        if (this.outputStalls++ === 0) {
          this.#log(
            `${this.#label} has ${this.#limits.domainOutputBytes} bytes queued over its connections (domainOutputBytes): not reading its requests until it reads`,
          );
        }
      }
      return false;
    }
    // Room again, found by one connection (its queue left without a 'drain', e.g. after the
    // disk): the others held for room try again too.
    if (this.#outOfRoom) this.drained();
    this.#refill();
    if (this.#credit < 1) {
      if (!this.#outOfCredit) {
        this.#outOfCredit = true;
        // Once per domain, as C xenstored logs "domain N is affected" once.
        if (this.throttled++ === 0) {
          this.#log(
            `${this.#label} is over its request rate (${this.#limits.domainRequestRate}/s, burst ${this.#limits.domainRequestBurst}): holding its requests until credit returns`,
          );
        }
      }
      this.#scheduleWake();
      return false;
    }
    this.#credit -= 1;
    this.#outOfCredit = false;
    this.admitted++;
    return true;
  }

  /** Whether an event of `size` bytes fits in what the domain may have queued. */
  hasRoom(size: number): boolean {
    return this.queuedBytes + size <= this.#limits.domainOutputBytes;
  }

  /** Some of the domain's output left (a drain, a closed connection): wakes connections held for room. */
  drained(): void {
    if (!this.#outOfRoom || this.queuedBytes >= this.#limits.domainOutputBytes) return;
    this.#outOfRoom = false;
    for (const c of this.connections) c.wake();
  }

  /** Stops the wake timer (the domain is gone). */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #refill(): void {
    const now = this.#now();
    const elapsed = now - this.#stamp;
    if (elapsed <= 0) return;
    this.#stamp = now;
    this.#credit = Math.min(this.#limits.domainRequestBurst, this.#credit + (elapsed * this.#limits.domainRequestRate) / 1000);
  }

  #scheduleWake(): void {
    if (this.#timer) return;
    const need = Math.min(WAKE_BATCH, this.#limits.domainRequestBurst) - this.#credit;
    const ms = Math.max(1, Math.ceil((need * 1000) / this.#limits.domainRequestRate));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      for (const c of this.connections) c.wake();
    }, ms);
    this.#timer.unref();
  }
}
