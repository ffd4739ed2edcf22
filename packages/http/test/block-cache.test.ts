import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BlockCache } from '../src/block-cache.js';

type Step = { op: 'get' | 'set' | 'has'; index: number; length: number } | { op: 'clear' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ op: fc.constantFrom('get', 'set', 'has'), index: fc.nat(12), length: fc.constantFrom(1, 2, 4) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
);

describe('BlockCache', () => {
  it('is an LRU of byte capacity: the model is a list, most recent last', () => {
    fc.assert(
      fc.property(fc.nat(12), fc.array(step, { maxLength: 200 }), (capacity, steps) => {
        const evicted: Uint8Array[] = [];
        const cache = new BlockCache(capacity, (block) => evicted.push(block));
        let model: { index: number; block: Uint8Array }[] = [];
        const bytes = () => model.reduce((sum, e) => sum + e.block.byteLength, 0);
        for (const s of steps) {
          if (s.op === 'clear') {
            cache.clear();
            model = [];
          } else if (s.op === 'has') {
            expect(cache.has(s.index)).toBe(model.some((e) => e.index === s.index));
          } else if (s.op === 'get') {
            const at = model.findIndex((e) => e.index === s.index);
            expect(cache.get(s.index)).toBe(at < 0 ? undefined : model[at]!.block);
            if (at >= 0) model.push(...model.splice(at, 1));
          } else {
            const block = new Uint8Array(s.length);
            evicted.length = 0;
            cache.set(s.index, block);
            if (block.byteLength > capacity) continue;
            model = model.filter((e) => e.index !== s.index);
            model.push({ index: s.index, block });
            const dropped: Uint8Array[] = [];
            while (bytes() > capacity) dropped.push(model.shift()!.block);
            expect(evicted).toEqual(dropped);
            expect(evicted.every((b, i) => b === dropped[i])).toBe(true);
          }
          expect(cache.bytes).toBe(bytes());
          expect(cache.size).toBe(model.length);
        }
      }),
    );
  });
});
