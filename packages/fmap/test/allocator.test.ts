import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Allocator } from '../src/allocator.js';
import { isFmapError } from '../src/index.js';

const BS = 4096;
const FIRST = 8192;

function fresh(reserve: (end: number) => void = () => undefined): Allocator {
  return new Allocator({ blockSize: BS, highWater: FIRST, committedHighWater: FIRST, free: [], metaPages: [] }, reserve);
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isFmapError(error) ? error.code : 'not an FmapError';
  }
  return undefined;
}

describe('Allocator', () => {
  it('grows at the end and reuses a block freed since the last commit at once', () => {
    const a = fresh();
    const x = a.allocate();
    const y = a.allocate();
    expect([x, y]).toEqual([FIRST, FIRST + BS]);
    a.free(y);
    expect(a.allocate()).toBe(y);
    expect(a.highWater).toBe(FIRST + 2 * BS);
  });

  it('holds a block allocated at the last commit until the next commit', () => {
    const a = fresh();
    const x = a.allocate();
    a.commit(a.planCommit(500));
    a.free(x);
    expect(a.isFree(x)).toBe(true);
    expect(a.allocate()).not.toBe(x);
    const plan = a.planCommit(500);
    expect(plan.entries).toContain(x);
    a.commit(plan);
    expect(a.allocate()).toBe(x);
  });

  it('refuses double frees and frees of free-list pages', () => {
    const a = fresh();
    const x = a.allocate();
    a.allocate();
    a.free(x);
    expect(code(() => a.free(x))).toBe('E_DOUBLE_FREE');
    const plan = a.planCommit(500);
    a.commit(plan);
    expect(plan.pages).toHaveLength(1);
    expect(code(() => a.free(plan.pages[0]!))).toBe('E_DOUBLE_FREE');
  });

  it('changes nothing when reserve refuses to grow', () => {
    let limit = FIRST + BS;
    const a = fresh((end) => {
      if (end > limit) throw new Error('full');
    });
    a.allocate();
    expect(() => a.allocate()).toThrow('full');
    expect(a.highWater).toBe(FIRST + BS);
    limit = Infinity;
    expect(a.allocate()).toBe(FIRST + BS);
  });

  it('gives the pages of an abandoned plan back, or keeps them in limbo once its header may have landed', () => {
    const a = fresh();
    for (let i = 0; i < 4; i++) a.allocate();
    a.free(FIRST);
    const before = a.freeBlocks();
    const early = a.planCommit(500);
    a.abandonCommit(early, false);
    expect(a.freeBlocks()).toEqual(before);
    const late = a.planCommit(500);
    a.abandonCommit(late, true);
    expect(a.freeListPages()).toEqual([...late.pages]);
    for (const page of late.pages) expect(code(() => a.free(page))).toBe('E_DOUBLE_FREE');
    const next = a.planCommit(500);
    expect(next.entries).toEqual(expect.arrayContaining([...late.pages]));
    a.commit(next);
    expect(a.freeListPages()).toEqual([...next.pages]);
  });

  it('takes free-list pages from the free blocks first, then from the end', () => {
    const a = fresh();
    for (let i = 0; i < 3; i++) a.allocate();
    const plan = a.planCommit(1);
    a.commit(plan);
    expect(plan.pages.length).toBeGreaterThanOrEqual(plan.entries.length);
  });

  type Op = { kind: 'allocate' } | { kind: 'free'; pick: number } | { kind: 'commit' } | { kind: 'fail'; headerStarted: boolean };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 4, arbitrary: fc.constant({ kind: 'allocate' as const }) },
    { weight: 3, arbitrary: fc.nat().map((pick) => ({ kind: 'free' as const, pick })) },
    { weight: 1, arbitrary: fc.constant({ kind: 'commit' as const }) },
    { weight: 1, arbitrary: fc.boolean().map((headerStarted) => ({ kind: 'fail' as const, headerStarted })) },
  );

  it('never hands out an allocated block, nor one the last commit (or a possibly landed one) holds, and accounts for every block', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(opArb, { maxLength: 120 }), (perPage, ops) => {
        const a = fresh();
        const allocated = new Set<number>();
        // Blocks some header that may be on disk holds as allocated or as free-list pages.
        let durable = new Set<number>();
        for (const op of ops) {
          if (op.kind === 'allocate') {
            const got = a.allocate();
            expect(allocated.has(got)).toBe(false);
            expect(durable.has(got)).toBe(false);
            allocated.add(got);
          } else if (op.kind === 'free') {
            const list = [...allocated];
            if (list.length === 0) continue;
            const pick = list[op.pick % list.length]!;
            a.free(pick);
            allocated.delete(pick);
          } else {
            const plan = a.planCommit(perPage);
            expect(plan.pages.length * perPage).toBeGreaterThanOrEqual(plan.entries.length);
            for (const page of plan.pages) expect(allocated.has(page) || durable.has(page)).toBe(false);
            if (op.kind === 'commit') {
              a.commit(plan);
              durable = new Set([...allocated, ...plan.pages]);
            } else {
              a.abandonCommit(plan, op.headerStarted);
              if (op.headerStarted) durable = new Set([...durable, ...allocated, ...plan.pages]);
            }
          }
          const free = a.freeBlocks();
          const pages = a.freeListPages();
          const all = [...allocated, ...free, ...pages].sort((x, y) => x - y);
          const expected = Array.from({ length: (a.highWater - FIRST) / BS }, (_, i) => FIRST + i * BS);
          expect(all).toEqual(expected);
        }
      }),
      { numRuns: 200 },
    );
  });
});
