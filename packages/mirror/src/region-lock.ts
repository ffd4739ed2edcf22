/** Ends a hold on a region; calling it more than once is harmless. */
export type Release = () => void;

interface Claim {
  readonly start: number;
  readonly end: number;
  grant?: (release: Release) => void;
}

const overlaps = (a: Claim, b: Claim): boolean => a.start < b.end && b.start < a.end;

/**
 * Exclusive locks on half-open byte ranges [start, end). Two claims conflict when their intervals
 * overlap anywhere (start and end both count, unlike Mirage's start-only test). Conflicting claims
 * are granted in arrival order, so neither the background copy nor a client can be starved;
 * claims that do not overlap anything earlier are granted at once.
 */
export class RegionLock {
  readonly #held: Claim[] = [];
  /** Waiting claims in arrival order. */
  readonly #waiting: Claim[] = [];

  /**
   * The release function once no earlier claim overlaps [start, end): at once when nothing does
   * (no promise, so an uncontended client write does not pay for a turn), else a promise of it.
   */
  acquire(start: number, end: number): Release | Promise<Release> {
    const claim: Claim = { start, end };
    if (!this.#held.some((h) => overlaps(h, claim)) && !this.#waiting.some((w) => overlaps(w, claim))) {
      this.#held.push(claim);
      return this.#releaser(claim);
    }
    return new Promise<Release>((resolve) => {
      claim.grant = resolve;
      this.#waiting.push(claim);
    });
  }

  /** Claims held plus claims waiting: for tests and diagnostics. */
  get size(): number {
    return this.#held.length + this.#waiting.length;
  }

  #releaser(claim: Claim): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#held.splice(this.#held.indexOf(claim), 1);
      this.#grantWaiting();
    };
  }

  #grantWaiting(): void {
    if (this.#waiting.length === 0) return;
    const stillWaiting: Claim[] = [];
    for (const claim of this.#waiting) {
      const blocked = this.#held.some((h) => overlaps(h, claim)) || stillWaiting.some((w) => overlaps(w, claim));
      if (blocked) {
        stillWaiting.push(claim);
        continue;
      }
      this.#held.push(claim);
      claim.grant?.(this.#releaser(claim));
    }
    this.#waiting.splice(0, this.#waiting.length, ...stillWaiting);
  }
}
