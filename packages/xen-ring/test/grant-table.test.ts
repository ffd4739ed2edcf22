import { describe, expect, it } from 'vitest';
import { FIRST_GRANT_REF, GrantError, GrantTable, SharedDomain } from '../src/index.js';

function table(entries = 64, frames = 16) {
  return new GrantTable(GrantTable.allocate(entries), new SharedArrayBuffer(frames * 4096));
}

describe('GrantTable', () => {
  it('maps a granted frame for the grantee only', () => {
    const g = table();
    const ref = g.allocateRef()!;
    g.grantAccess(ref, 7, 3, false);
    expect(g.map(ref, 7, true)).toBe(3);
    expect(g.map(ref, 8, false)).toBe(GrantError.WRONG_DOMAIN);
    expect(g.mapCount(ref)).toBe(1);
  });

  it('refuses references that are reserved, out of range or not granted', () => {
    const g = table(64);
    for (const ref of [0, 1, FIRST_GRANT_REF - 1, 64, 1e9, -1, 2.5, Number.NaN]) expect(g.map(ref, 0, false)).toBe(GrantError.BAD_REF);
    expect(g.map(FIRST_GRANT_REF, 0, false)).toBe(GrantError.NOT_GRANTED);
    expect(() => {
      g.grantAccess(3, 0, 0, false);
    }).toThrow(RangeError);
    expect(() => {
      g.grantAccess(FIRST_GRANT_REF, 0, 16, false);
    }).toThrow(RangeError);
  });

  it('honours read-only grants: a writable mapping is refused, a read-only one allowed', () => {
    const g = table();
    const ref = g.allocateRef()!;
    g.grantAccess(ref, 0, 1, true);
    expect(g.map(ref, 0, true)).toBe(GrantError.READ_ONLY);
    expect(g.mapCount(ref)).toBe(0);
    expect(g.map(ref, 0, false)).toBe(1);
  });

  it('refuses to end access while mapped, and allows it once every mapping is gone', () => {
    const g = table();
    const ref = g.allocateRef()!;
    g.grantAccess(ref, 0, 2, false);
    g.map(ref, 0, true);
    g.map(ref, 0, false);
    expect(g.endAccess(ref)).toBe(false);
    g.unmap(ref);
    expect(g.endAccess(ref)).toBe(false);
    g.unmap(ref);
    expect(g.endAccess(ref)).toBe(true);
    expect(g.map(ref, 0, false)).toBe(GrantError.NOT_GRANTED);
    expect(() => {
      g.grantAccess(ref, 0, 2, false);
    }).not.toThrow();
  });

  it('will not grant an entry that is still in use', () => {
    const g = table();
    const ref = g.allocateRef()!;
    g.grantAccess(ref, 0, 2, false);
    expect(() => {
      g.grantAccess(ref, 0, 3, false);
    }).toThrow(/in use/);
  });

  it('a mapping sees the frame granted at the time it was taken, even if the entry is re-granted later', () => {
    const g = table();
    const ref = g.allocateRef()!;
    g.grantAccess(ref, 0, 2, false);
    expect(g.endAccess(ref)).toBe(true);
    g.grantAccess(ref, 0, 5, false);
    expect(g.map(ref, 0, false)).toBe(5);
  });

  it('a frame number outside the domain written into the entry behind its back is refused', () => {
    const buffer = GrantTable.allocate(64);
    const g = new GrantTable(buffer, new SharedArrayBuffer(4 * 4096));
    const ref = g.allocateRef()!;
    g.grantAccess(ref, 0, 1, false);
    new Int32Array(buffer)[ref * 4 + 2] = 99;
    expect(g.map(ref, 0, false)).toBe(GrantError.BAD_FRAME);
    expect(g.mapCount(ref)).toBe(0);
  });

  it('allocates every reference from FIRST_GRANT_REF once until freed', () => {
    const g = table(20);
    const refs = new Set<number>();
    for (let ref = g.allocateRef(); ref !== undefined; ref = g.allocateRef()) refs.add(ref);
    expect([...refs].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 - FIRST_GRANT_REF }, (_, i) => i + FIRST_GRANT_REF));
    g.freeRef(10);
    expect(g.allocateRef()).toBe(10);
  });

  it('map and end-access race from two threads without both succeeding', async () => {
    const { Worker } = await import('node:worker_threads');
    const domain = SharedDomain.create({ domid: 1, frames: 4 });
    const ref = domain.grants.allocateRef()!;
    const control = new Int32Array(new SharedArrayBuffer(20)); // [go, done, maps, violations, refusals]
    // The worker maps and unmaps exactly as GrantTable.map/unmap do (one CAS on the state word).
    const worker = new Worker(
      `const { workerData } = require('node:worker_threads');
       const words = new Int32Array(workerData.grants);
       const control = workerData.control;
       const base = workerData.ref * 4;
       Atomics.wait(control, 0, 0, 5000);
       // Race until both sides have been seen winning (a map, a refused end), bounded in time.
       const deadline = Date.now() + 10000;
       for (let i = 0; (i < 300000 || Atomics.load(control, 2) < 100 || Atomics.load(control, 4) === 0) && Date.now() < deadline; i++) {
         const s = Atomics.load(words, base);
         if ((s & 1) === 0) continue;
         if (Atomics.compareExchange(words, base, s, s + 4) !== s) continue;
         Atomics.add(control, 2, 1);
         for (let k = 0; k < 20; k++) if ((Atomics.load(words, base) & 1) === 0) Atomics.add(control, 3, 1);
         Atomics.sub(words, base, 4);
       }
       Atomics.store(control, 1, 1);`,
      { eval: true, workerData: { grants: domain.descriptor.grants, ref, control } },
    );
    try {
      let ended = 0;
      let refused = 0;
      Atomics.store(control, 0, 1);
      Atomics.notify(control, 0);
      for (let i = 0; i < 5_000_000 && Atomics.load(control, 1) === 0; i++) {
        domain.grants.grantAccess(ref, 0, 1, false);
        const giveUp = performance.now() + 5000;
        while (!domain.grants.endAccess(ref)) {
          refused++;
          Atomics.store(control, 4, refused);
          if (refused % 1024 === 0 && performance.now() > giveUp) throw new Error('the mapping was never released');
        }
        ended++;
      }
      expect(Atomics.load(control, 1)).toBe(1);
      expect(Atomics.load(control, 3), 'access ended while mapped').toBe(0);
      expect(ended).toBeGreaterThan(0);
      expect(Atomics.load(control, 2)).toBeGreaterThan(0);
      expect(refused).toBeGreaterThan(0);
    } finally {
      await worker.terminate();
    }
  });
});
