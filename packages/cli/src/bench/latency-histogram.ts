/** Sub-buckets per power of two: a percentile is within 1/32 (3 %) of the true latency. */
const SUB_BUCKETS = 32;
const LINEAR = 2 * SUB_BUCKETS;
/** Latencies are clamped to 2^45 ns (about 9.8 hours). */
const MAX_EXPONENT = 45;
const BUCKETS = LINEAR + (MAX_EXPONENT - 6 + 1) * SUB_BUCKETS;

/**
 * Request latencies in nanoseconds, in fixed memory (1,344 counters however many requests run):
 * exact below 64 ns, then 32 buckets per power of two, as HdrHistogram does. min, max and mean
 * are exact.
 */
export class LatencyHistogram {
  readonly #counts = new Float64Array(BUCKETS);
  #count = 0;
  #sum = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = 0;

  record(ns: number): void {
    const value = Math.min(Math.max(0, Math.round(ns)), 2 ** (MAX_EXPONENT + 1) - 1);
    this.#counts[bucketOf(value)]!++;
    this.#count++;
    this.#sum += value;
    if (value < this.#min) this.#min = value;
    if (value > this.#max) this.#max = value;
  }

  get count(): number {
    return this.#count;
  }

  get min(): number {
    return this.#count === 0 ? Number.NaN : this.#min;
  }

  get max(): number {
    return this.#count === 0 ? Number.NaN : this.#max;
  }

  get mean(): number {
    return this.#count === 0 ? Number.NaN : this.#sum / this.#count;
  }

  /** The p-th percentile (0–100) by nearest rank: the middle of its bucket, within [min, max]. */
  percentile(p: number): number {
    if (this.#count === 0) return Number.NaN;
    const rank = Math.min(this.#count, Math.max(1, Math.ceil((p / 100) * this.#count)));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(this.#max, Math.max(this.#min, middleOf(i)));
    }
    return this.#max;
  }
}

function bucketOf(value: number): number {
  if (value < LINEAR) return value;
  let exponent = Math.floor(Math.log2(value));
  if (2 ** exponent > value)
    exponent--; // log2 rounded up just below a power of two
  else if (2 ** (exponent + 1) <= value) exponent++;
  const width = 2 ** (exponent - 5);
  return LINEAR + (exponent - 6) * SUB_BUCKETS + Math.floor((value - 2 ** exponent) / width);
}

function middleOf(bucket: number): number {
  if (bucket < LINEAR) return bucket;
  const exponent = 6 + Math.floor((bucket - LINEAR) / SUB_BUCKETS);
  const width = 2 ** (exponent - 5);
  return 2 ** exponent + ((bucket - LINEAR) % SUB_BUCKETS) * width + (width - 1) / 2;
}
