import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChildList } from '../src/server/child-list.js';

/** Operations on a tree of versions: each appends to or removes from some earlier version. */
type Op = { from: number; add: string } | { from: number; remove: number };

describe('ChildList', () => {
  it('every version keeps its own names, whatever is later appended to or removed from it or its siblings (model: plain arrays)', () => {
    const name = fc.stringMatching(/^[a-z]{1,3}$/);
    const op: fc.Arbitrary<Op> = fc.oneof(fc.record({ from: fc.nat(), add: name }), fc.record({ from: fc.nat(), remove: fc.nat() }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const lists: ChildList[] = [ChildList.EMPTY];
        const model: string[][] = [[]];
        for (const o of ops) {
          const at = o.from % lists.length;
          if ('add' in o) {
            if (model[at]!.includes(o.add)) continue;
            lists.push(lists[at]!.append(o.add));
            model.push([...model[at]!, o.add]);
          } else {
            const victim = model[at]![o.remove % Math.max(1, model[at]!.length)];
            if (victim === undefined) continue;
            lists.push(lists[at]!.without(victim));
            model.push(model[at]!.filter((n) => n !== victim));
          }
          lists.forEach((list, i) => {
            expect([...list]).toEqual(model[i]);
            expect(list.toArray()).toEqual(model[i]);
            expect(list.length).toBe(model[i]!.length);
            expect(list.bytes).toBe(model[i]!.reduce((n, s) => n + s.length + 1, 0));
            for (const s of model[i]!) expect(list.includes(s)).toBe(true);
          });
        }
        expect(ChildList.EMPTY.length).toBe(0);
      }),
    );
  });

  it('appending to the newest version does not copy: 20,000 children cost one array, not 20,000', () => {
    // Counted by watching Array.prototype.slice, the only way the list copies its names.
    let list = ChildList.EMPTY.append('first');
    const copies = { n: 0 };
    const slice = Array.prototype.slice;
    Array.prototype.slice = function (this: unknown[], ...args: Parameters<typeof slice>) {
      copies.n++;
      return slice.apply(this, args) as unknown[];
    } as typeof slice;
    try {
      for (let i = 0; i < 20_000; i++) list = list.append(`c${i}`);
    } finally {
      Array.prototype.slice = slice;
    }
    expect(copies.n).toBe(0);
    expect(list.length).toBe(20_001);
    expect(list.at(20_000)).toBe('c19999');
  });
});
