import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { forEachUnit } from '../src/index.js';

const pieces = (position: number, length: number, unit: number) => {
  const out: [number, number, number, number][] = [];
  forEachUnit(position, length, unit, (...piece) => out.push(piece));
  return out;
};

describe('forEachUnit', () => {
  it('cuts a range at unit boundaries', () => {
    expect(pieces(100, 1000, 512)).toEqual([
      [0, 100, 412, 0],
      [1, 0, 512, 412],
      [2, 0, 76, 924],
    ]);
    expect(pieces(1024, 512, 512)).toEqual([[2, 0, 512, 0]]);
    expect(pieces(7, 0, 512)).toEqual([]);
  });

  it('covers the range exactly, each piece inside one unit (property)', () => {
    fc.assert(
      fc.property(fc.nat({ max: 1 << 30 }), fc.nat({ max: 1 << 16 }), fc.integer({ min: 1, max: 1 << 14 }), (position, length, unit) => {
        let expected = 0;
        for (const [index, within, n, done] of pieces(position, length, unit)) {
          expect(done).toBe(expected);
          expect(index * unit + within).toBe(position + done);
          expect(n).toBeGreaterThan(0);
          expect(within + n).toBeLessThanOrEqual(unit);
          expected += n;
        }
        expect(expected).toBe(length);
      }),
    );
  });
});
