import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PageTable } from '../src/page-table.js';

describe('PageTable', () => {
  it('agrees with a set of page numbers under random obtain/delete/truncate (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('obtain' as const), page: fc.integer({ min: 0, max: 5000 }) }),
            fc.record({ op: fc.constant('delete' as const), page: fc.integer({ min: 0, max: 5000 }) }),
            fc.record({ op: fc.constant('truncate' as const), page: fc.integer({ min: 0, max: 5000 }) }),
          ),
          { maxLength: 200 },
        ),
        fc.array(fc.integer({ min: 0, max: 5100 }), { minLength: 1, maxLength: 20 }),
        (ops, probes) => {
          const table = new PageTable(4096);
          const model = new Set<number>();
          for (const { op, page } of ops) {
            if (op === 'obtain') {
              table.obtain(page);
              model.add(page);
            } else if (op === 'delete') {
              table.delete(page);
              model.delete(page);
            } else {
              table.truncate(page);
              for (const p of model) if (p >= page) model.delete(p);
            }
          }
          expect(table.pages).toBe(model.size);
          for (const probe of probes) {
            const allocated = [...model].filter((p) => p >= probe).sort((a, b) => a - b)[0] ?? -1;
            expect(table.nextAllocated(probe)).toBe(allocated);
            let free = probe;
            while (model.has(free)) free++;
            expect(table.nextFree(probe)).toBe(free);
            expect(table.get(probe) !== undefined).toBe(model.has(probe));
          }
        },
      ),
    );
  });

  it('hands out zeroed pages and keeps their contents', () => {
    const table = new PageTable(4096);
    const page = table.obtain(7);
    expect(page.every((b) => b === 0)).toBe(true);
    page[5] = 9;
    expect(table.obtain(7)[5]).toBe(9);
    expect(table.pages).toBe(1);
  });

  it('handles page numbers beyond 2^32', () => {
    const table = new PageTable(4096);
    const far = 2 ** 40 + 3;
    table.obtain(far)[0] = 1;
    expect(table.get(far)?.[0]).toBe(1);
    expect(table.get(3)).toBeUndefined();
    expect(table.nextAllocated(0)).toBe(far);
    expect(table.nextFree(far)).toBe(far + 1);
    table.truncate(2 ** 40);
    expect(table.pages).toBe(0);
  });
});
