import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../src/bench/latency-histogram.js';

/** Nearest-rank percentile of the exact values: the model. */
function exact(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]!;
}

describe('LatencyHistogram', () => {
  it('is empty: NaN everywhere', () => {
    const h = new LatencyHistogram();
    expect(h.count).toBe(0);
    expect([h.min, h.max, h.mean, h.percentile(50)].every(Number.isNaN)).toBe(true);
  });

  it('is exact below 64 ns', () => {
    const h = new LatencyHistogram();
    for (const v of [1, 5, 5, 63]) h.record(v);
    expect([h.percentile(25), h.percentile(50), h.percentile(75), h.percentile(100)]).toEqual([1, 5, 5, 63]);
  });

  it('every percentile is within 1/32 of the exact one, min/max/mean are exact', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2 ** 44 }), { minLength: 1, maxLength: 300 }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        (values, p) => {
          const h = new LatencyHistogram();
          for (const v of values) h.record(v);
          expect(h.count).toBe(values.length);
          expect(h.min).toBe(Math.min(...values));
          expect(h.max).toBe(Math.max(...values));
          expect(h.mean).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 0);
          const want = exact(values, p);
          const got = h.percentile(p);
          expect(Math.abs(got - want)).toBeLessThanOrEqual(want / 32 + 0.5);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('clamps hostile values: negative to 0, beyond 2^46 ns to the top bucket, fractions rounded', () => {
    const h = new LatencyHistogram();
    h.record(-5);
    h.record(2 ** 60);
    h.record(1.4);
    expect(h.min).toBe(0);
    expect(h.max).toBe(2 ** 46 - 1);
    expect(h.percentile(50)).toBe(1);
  });
});
