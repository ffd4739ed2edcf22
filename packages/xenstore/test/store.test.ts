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

describe('snapshots share one log of replaced states', () => {
  it('each snapshot reads the tree as it was when taken, whatever is written, removed, taken and released since (model: copies)', () => {
    type Step = { set: number; value: string } | { del: number } | { take: true } | { drop: number } | { read: number; path: number };
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ set: fc.nat(5), value: fc.constantFrom('a', 'b', 'c') }),
      fc.record({ del: fc.nat(5) }),
      fc.record({ take: fc.constant(true as const) }),
      fc.record({ drop: fc.nat() }),
      fc.record({ read: fc.nat(), path: fc.nat(5) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 120 }), (steps) => {
        const store = Store.seeded();
        const current = new Map<string, string>();
        const open: { snapshot: ReturnType<Store['snapshot']>; seen: Map<string, string> }[] = [];
        const check = () => {
          for (const { snapshot, seen } of open) {
            for (let p = 0; p <= 5; p++) {
              const got = snapshot.get(`/p${p}`);
              expect(got && new TextDecoder().decode(got.value)).toBe(seen.get(`/p${p}`));
            }
          }
        };
        for (const s of steps) {
          if ('set' in s) {
            store.set(`/p${s.set}`, node(s.value));
            current.set(`/p${s.set}`, s.value);
          } else if ('del' in s) {
            store.delete(`/p${s.del}`);
            current.delete(`/p${s.del}`);
          } else if ('take' in s) {
            open.push({ snapshot: store.snapshot(), seen: new Map(current) });
          } else if ('drop' in s) {
            if (open.length > 0) store.release(open.splice(s.drop % open.length, 1)[0]!.snapshot);
          }
          check();
        }
        for (const { snapshot } of open) store.release(snapshot);
        expect(store.retainedPreimages).toBe(0);
        expect(store.openSnapshots).toBe(0);
      }),
    );
  });

  it('a write records at most one state however many snapshots are open, and only the first change of a node after the newest snapshot', () => {
    const store = Store.seeded();
    store.set('/n', node('0'));
    const snapshots = Array.from({ length: 1000 }, () => store.snapshot());
    store.set('/n', node('1'));
    expect(store.retainedPreimages).toBe(1);
    for (let i = 2; i < 10_000; i++) store.set('/n', node(String(i)));
    expect(store.retainedPreimages).toBe(1);
    store.set('/m', node('new'));
    expect(store.retainedPreimages).toBe(2);
    for (const s of snapshots) expect(s.get('/n')?.value).toEqual(bytes('0'));
    for (const s of snapshots) store.release(s);
    expect(store.retainedPreimages).toBe(0);
  });

  it('past its limit the oldest snapshot is let go (overflow called once) and what only it needed is freed', () => {
    const store = Store.seeded();
    let overflows = 0;
    store.snapshot(3, () => overflows++);
    for (let i = 0; i < 3; i++) store.set(`/k${i}`, node('v'));
    expect(overflows).toBe(0);
    const young = store.snapshot(3, () => overflows++);
    store.set('/k3', node('v'));
    expect(overflows).toBe(1);
    expect(store.openSnapshots).toBe(1);
    expect(store.retainedPreimages).toBe(1);
    expect(young.get('/k3')).toBeUndefined();
  });
});
