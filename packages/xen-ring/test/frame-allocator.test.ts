import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameAllocator } from '../src/index.js';

type Step = { kind: 'allocate'; count: number; contiguous: boolean } | { kind: 'release'; pick: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('allocate' as const), count: fc.integer({ min: 0, max: 12 }), contiguous: fc.boolean() }),
  fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
);

describe('FrameAllocator', () => {
  it('matches a set of used slots: never lends a slot twice, contiguous when asked, refuses only when short', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.array(step, { maxLength: 120 }), (size, steps) => {
        const allocator = new FrameAllocator(size);
        const used = new Set<number>();
        const lent: number[][] = [];
        for (const s of steps) {
          if (s.kind === 'release') {
            if (lent.length === 0) continue;
            const [slots] = lent.splice(s.pick % lent.length, 1);
            allocator.release(slots!);
            for (const slot of slots!) used.delete(slot);
          } else {
            const slots = allocator.allocate(s.count, s.contiguous);
            if (slots === undefined) {
              // Short of slots, or (only when asked for one run) of a long enough run.
              if (!s.contiguous) expect(s.count).toBeGreaterThan(size - used.size);
              continue;
            }
            expect(slots).toHaveLength(Math.max(0, s.count));
            for (const slot of slots) {
              expect(slot >= 0 && slot < size && !used.has(slot)).toBe(true);
              used.add(slot);
            }
            if (s.contiguous) slots.forEach((slot, i) => expect(slot).toBe(slots[0]! + i));
            lent.push(slots);
          }
          expect(allocator.free).toBe(size - used.size);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('lends the slots just released again, while they are still in the caches', () => {
    const allocator = new FrameAllocator(64);
    const first = allocator.allocate(8)!;
    allocator.allocate(4);
    allocator.release(first);
    expect(allocator.allocate(8)).toEqual(first);
  });

  it('refuses to release a slot twice', () => {
    const allocator = new FrameAllocator(4);
    const slots = allocator.allocate(2)!;
    allocator.release(slots);
    expect(() => allocator.release(slots)).toThrow(/released twice/);
  });
});
