import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Caller } from '../src/server/caller.js';
import { ChildList } from '../src/server/child-list.js';
import { Overlay } from '../src/server/overlay.js';
import { DEFAULT_QUOTAS } from '../src/server/quotas.js';
import { DEFAULT_LIMITS } from '../src/server/limits.js';
import { Store } from '../src/server/store.js';
import { Transaction } from '../src/server/transaction.js';

const dom0: Caller = { domid: 0, privileged: true, target: undefined };
const bytes = (s: string) => new TextEncoder().encode(s);
const node = (value: string, owner = 0) => ({
  value: bytes(value),
  perms: [{ domid: owner, access: 'n' as const }],
  children: ChildList.EMPTY,
});

describe('store internals', () => {
  it('snapshots keep what they saw, and are released by the transaction that took them', () => {
    const store = Store.seeded();
    store.set('/a', node('1'));
    const tx = new Transaction(1, store, dom0, DEFAULT_QUOTAS, DEFAULT_LIMITS);
    expect(store.openSnapshots).toBe(1);
    store.set('/a', node('2'));
    store.set('/b', node('new'));
    store.delete('/tool/xenstored');
    expect(tx.layer.get('/a')?.value).toEqual(bytes('1'));
    expect(tx.layer.get('/b')).toBeUndefined();
    expect(tx.layer.get('/tool/xenstored')).toBeDefined();
    tx.end();
    tx.end();
    expect(store.openSnapshots).toBe(0);
  });

  it('a committed transaction releases its snapshot, a failed commit too', () => {
    const store = Store.seeded();
    const ok = new Transaction(1, store, dom0, DEFAULT_QUOTAS, DEFAULT_LIMITS);
    ok.layer.set('/x', node('x'));
    ok.commit(dom0, DEFAULT_QUOTAS);
    const conflicting = new Transaction(2, store, dom0, DEFAULT_QUOTAS, DEFAULT_LIMITS);
    conflicting.layer.get('/x');
    store.set('/x', node('changed'));
    expect(() => conflicting.commit(dom0, DEFAULT_QUOTAS)).toThrow(expect.objectContaining({ code: 'EAGAIN' }));
    expect(store.openSnapshots).toBe(0);
    expect(store.get('/x')?.value).toEqual(bytes('changed'));
  });

  it('counts nodes per owner through overlays and the store', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('/p', '/q', '/r'), fc.option(fc.integer({ min: 1, max: 3 }))), { maxLength: 30 }),
        (steps) => {
          const store = Store.seeded();
          const overlay = new Overlay(store, () => store.nextGeneration());
          const model = new Map<string, number>();
          for (const [path, owner] of steps) {
            if (owner === null) {
              overlay.delete(path);
              model.delete(path);
            } else {
              overlay.set(path, node('', owner));
              model.set(path, owner);
            }
            for (const d of [1, 2, 3]) expect(overlay.ownedBy(d)).toBe([...model.values()].filter((o) => o === d).length);
          }
          overlay.apply();
          for (const d of [1, 2, 3]) expect(store.ownedBy(d)).toBe([...model.values()].filter((o) => o === d).length);
        },
      ),
    );
  });

  it('every change gets a fresh generation', () => {
    const store = Store.seeded();
    store.set('/g', node('1'));
    const first = store.get('/g')!.generation;
    store.set('/g', node('1'));
    expect(store.get('/g')!.generation).toBeGreaterThan(first);
  });
});
