import fc from 'fast-check';
import { setImmediate as turn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { RegionLock, type Release } from '../src/index.js';

interface Tracked {
  readonly start: number;
  readonly end: number;
  readonly shared: boolean;
  readonly arrival: number;
  release?: Release;
  released: boolean;
}

const overlap = (a: Tracked, b: Tracked): boolean => a.start < b.end && b.start < a.end;
const conflict = (a: Tracked, b: Tracked): boolean => overlap(a, b) && !(a.shared && b.shared);

function claim(lock: RegionLock, start: number, end: number, shared: boolean, arrival: number): Tracked {
  const tracked: Tracked = { start, end, shared, arrival, released: false };
  const got = lock.acquire(start, end, shared);
  if (typeof got === 'function') tracked.release = got;
  else void got.then((release) => (tracked.release = release));
  return tracked;
}

describe('RegionLock', () => {
  it('lets shared claims overlap, and an exclusive claim waits for every overlapping one', async () => {
    const lock = new RegionLock();
    const a = lock.acquire(0, 10, true);
    const b = lock.acquire(5, 15, true);
    expect(typeof a).toBe('function');
    expect(typeof b).toBe('function');
    expect(lock.isFree(0, 20, true)).toBe(true);
    expect(lock.isFree(12, 13)).toBe(false);
    expect(lock.isFree(15, 20)).toBe(true);
    let granted = false;
    const c = lock.acquire(8, 12);
    expect(c).toBeInstanceOf(Promise);
    void (c as Promise<Release>).then(() => (granted = true));
    (a as Release)();
    await turn();
    expect(granted).toBe(false);
    (b as Release)();
    (b as Release)(); // a second release changes nothing
    await turn();
    expect(granted).toBe(true);
    expect(lock.size).toBe(1);
  });

  it('makes a shared claim wait behind an earlier exclusive one that is waiting (no starved writer)', async () => {
    const lock = new RegionLock();
    const reader = lock.acquire(0, 8, true) as Release;
    const writer = lock.acquire(0, 8);
    expect(writer).toBeInstanceOf(Promise);
    expect(lock.isFree(4, 6, true)).toBe(false);
    const order: string[] = [];
    void (writer as Promise<Release>).then((release) => {
      order.push('writer');
      release();
    });
    const late = lock.acquire(4, 6, true);
    expect(late).toBeInstanceOf(Promise);
    void (late as Promise<Release>).then(() => order.push('late reader'));
    // a shared claim elsewhere is not held back
    expect(typeof lock.acquire(8, 16, true)).toBe('function');
    reader();
    await turn();
    expect(order).toEqual(['writer', 'late reader']);
  });

  it('never holds two conflicting claims, keeps no claim waiting without cause and grants conflicts in arrival order (property)', async () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('claim' as const), start: fc.nat(30), length: fc.integer({ min: 1, max: 10 }), shared: fc.boolean() }),
      fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 60 }), async (steps) => {
        const lock = new RegionLock();
        const all: Tracked[] = [];
        const check = async (): Promise<void> => {
          await turn();
          const held = all.filter((t) => t.release && !t.released);
          const waiting = all.filter((t) => !t.release);
          for (const h of held) {
            for (const other of held) if (other !== h) expect(conflict(h, other)).toBe(false);
          }
          for (const w of waiting) {
            const cause = held.some((h) => conflict(h, w)) || waiting.some((e) => e.arrival < w.arrival && conflict(e, w));
            expect(cause).toBe(true);
          }
          for (const h of held) {
            expect(waiting.some((w) => w.arrival < h.arrival && conflict(w, h))).toBe(false);
          }
          expect(lock.size).toBe(held.length + waiting.length);
        };
        for (const s of steps) {
          if (s.kind === 'claim') {
            const free = lock.isFree(s.start, s.start + s.length, s.shared);
            const t = claim(lock, s.start, s.start + s.length, s.shared, all.length);
            expect(Boolean(t.release)).toBe(free);
            all.push(t);
          } else {
            const held = all.filter((t) => t.release && !t.released);
            const victim = held[s.pick % Math.max(1, held.length)];
            if (victim) {
              victim.released = true;
              victim.release!();
            }
          }
          await check();
        }
        // Releasing whatever is held, round after round, grants every claim in the end.
        for (let round = 0; round <= all.length; round++) {
          for (const t of all) {
            if (t.release && !t.released) {
              t.released = true;
              t.release();
            }
          }
          await turn();
        }
        expect(all.every((t) => t.released)).toBe(true);
        expect(lock.size).toBe(0);
      }),
      { numRuns: 150 },
    );
  });
});
