import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BlockPool, SLAB_BYTES } from '../src/block-pool.js';

/** The bytes of `block` as [start, end) within its ArrayBuffer. */
const span = (block: Uint8Array) => [block.byteOffset, block.byteOffset + block.byteLength] as const;

describe('BlockPool', () => {
  it('hands out blocks that never share a byte while held, across slabs, with reuse', () => {
    fc.assert(
      fc.property(fc.constantFrom(512, 16384, SLAB_BYTES * 2), fc.array(fc.boolean(), { maxLength: 300 }), (blockSize, steps) => {
        const pool = new BlockPool(blockSize, 8);
        const held: Uint8Array[] = [];
        for (const take of steps) {
          if (take || held.length === 0) {
            const block = pool.take();
            expect(block.byteLength).toBe(blockSize);
            for (const other of held) {
              if (other.buffer !== block.buffer) continue;
              const [a, b] = span(block);
              const [c, d] = span(other);
              expect(b <= c || d <= a, 'overlapping blocks').toBe(true);
            }
            held.push(block);
          } else {
            pool.put(held.shift()!);
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it('reuses what was put back, keeps at most maxBlocks, and refuses other sizes', () => {
    const pool = new BlockPool(4096, 1);
    const a = pool.take();
    const b = pool.take();
    pool.put(a);
    pool.put(b);
    pool.put(new Uint8Array(512));
    expect(pool.take()).toBe(a);
    const c = pool.take();
    expect(c).not.toBe(b);
    expect(c.byteLength).toBe(4096);
  });
});
