/** Ends a hold on a region; calling it more than once is harmless. */
export type Release = () => void;

interface Claim {
  readonly start: number;
  readonly end: number;
  readonly shared: boolean;
  grant?: (release: Release) => void;
}

/** Two claims conflict when their intervals overlap anywhere and at least one is exclusive. */
const conflicts = (a: Claim, b: Claim): boolean => a.start < b.end && b.start < a.end && !(a.shared && b.shared);

/**
 * Locks on half-open ranges [start, end) (bytes, sectors: the caller's unit), exclusive or shared.
 * Overlapping claims conflict unless both are shared. Conflicting claims are granted in arrival
 * order, so no side starves (a shared claim waits behind an earlier exclusive one even while
 * other shared claims hold the range); claims that conflict with nothing earlier are granted at
 * once, without a promise.
 *
 * What a backend whose requests run on several threads at once needs to keep the `concurrent`
 * promise (every sector old or new, never torn): writes claim exclusively, reads shared.
 */
export class RegionLock {
  readonly #held: Claim[] = [];
  /** Waiting claims in arrival order. */
  readonly #waiting: Claim[] = [];
  /** Exclusive claims held or waiting: while none, a shared claim is granted without a scan. */
  #exclusive = 0;

  /**
   * The release function once no earlier claim conflicts with [start, end): at once when none
   * does (no promise, so an uncontended request does not pay for a turn), else a promise of it.
   */
  acquire(start: number, end: number, shared = false): Release | Promise<Release> {
    const claim: Claim = { start, end, shared };
    if (!shared) this.#exclusive++;
    if (this.#grantable(claim, this.#waiting)) {
      this.#held.push(claim);
      return this.#releaser(claim);
    }
    return new Promise<Release>((resolve) => {
      claim.grant = resolve;
      this.#waiting.push(claim);
    });
  }

  /**
   * Whether a claim on [start, end) would be granted at once. For work that finishes before the
   * caller returns (it cannot overlap anything that starts later), so it need not claim at all.
   */
  isFree(start: number, end: number, shared = false): boolean {
    return this.#grantable({ start, end, shared }, this.#waiting);
  }

  /** Claims held plus claims waiting: for tests and diagnostics. */
  get size(): number {
    return this.#held.length + this.#waiting.length;
  }

  #grantable(claim: Claim, earlierWaiting: readonly Claim[]): boolean {
    if (claim.shared && this.#exclusive === 0) return true;
    return !this.#held.some((h) => conflicts(h, claim)) && !earlierWaiting.some((w) => conflicts(w, claim));
  }

  #releaser(claim: Claim): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#held.splice(this.#held.indexOf(claim), 1);
      if (!claim.shared) this.#exclusive--;
      this.#grantWaiting();
    };
  }

  #grantWaiting(): void {
    if (this.#waiting.length === 0) return;
    const stillWaiting: Claim[] = [];
    for (const claim of this.#waiting) {
      if (!this.#grantable(claim, stillWaiting)) {
        stillWaiting.push(claim);
        continue;
      }
      this.#held.push(claim);
      claim.grant?.(this.#releaser(claim));
    }
    this.#waiting.splice(0, this.#waiting.length, ...stillWaiting);
  }
}
