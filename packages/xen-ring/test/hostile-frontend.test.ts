import type { BlockDevice } from '@blk/core';
import { Ramdisk } from '@blk/ramdisk';
import fc from 'fast-check';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { BlkifOp, BlkifStatus, REQ_PROD, RSP_PROD, writeRwHeader, writeSegment } from '../src/index.js';
import { BACK_DOMID, RawFrontend } from './helpers/raw-frontend.js';

const FRAMES = 40;
const SECRET = [0x5e, 0xc2, 0xe7, 0x00, 0xde, 0xad, 0xbe, 0xef];
const FOREIGN = [0xf0, 0x2e, 0x19, 0x00, 0xca, 0xfe, 0xba, 0xbe];
const CANARY = 0xc1;

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** Re-read after awaiting (the backend may have answered meanwhile). */
const hasRoom = (front: RawFrontend) => front.ring.freeSlots > 0;

function stamp(bytes: Uint8Array, marker: readonly number[]): void {
  for (let i = 0; i < bytes.length; i++) bytes[i] = marker[i % marker.length]!;
}

function holds(bytes: Uint8Array, marker: readonly number[]): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== marker[i % marker.length]) return false;
  return true;
}

/** True if the 8-byte marker appears anywhere in `bytes`. */
function contains(bytes: Uint8Array, marker: readonly number[]): boolean {
  outer: for (let i = 0; i + marker.length <= bytes.length; i++) {
    for (let k = 0; k < marker.length; k++) if (bytes[i + k] !== marker[k]) continue outer;
    return true;
  }
  return false;
}

type Action =
  | { kind: 'slot'; bytes: Uint8Array; op: number; refs: number[]; push: boolean }
  | { kind: 'descriptors'; page: number; bytes: Uint8Array; refs: number[] }
  | { kind: 'producer'; value: number }
  | { kind: 'turns'; n: number };

const refPick = fc.nat(); // resolved against the pools below
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('slot' as const),
      bytes: fc.uint8Array({ minLength: 112, maxLength: 112 }),
      op: fc.oneof(fc.constantFrom(0, 1, 2, 3, 5, 6), fc.integer({ min: 0, max: 255 })),
      refs: fc.array(refPick, { minLength: 11, maxLength: 11 }),
      push: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('descriptors' as const),
      page: fc.nat(),
      bytes: fc.uint8Array({ minLength: 64, maxLength: 64 }),
      refs: fc.array(refPick, { minLength: 8, maxLength: 8 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('producer' as const), value: fc.oneof(fc.nat({ max: 80 }), fc.nat()) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('turns' as const), n: fc.integer({ min: 1, max: 4 }) }) },
);

describe('a hostile frontend', () => {
  it('can never crash Blkback, make it touch pages not granted to it, write read-only pages, or lose an answer', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(action, { minLength: 1, maxLength: 60 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 0xffffffff }),
        async (script, persistent, start) => {
          const disk = new Ramdisk({ sizeSectors: 256 });
          const front = await RawFrontend.start({ device: disk, frames: FRAMES, maxIndirectSegments: 64, persistent, ringStart: start });
          const { domain } = front;
          // frame 0: ring; 1-8 writable grants; 9-12 read-only grants (canary); 13-16 granted to
          // another domain; 17-39 never granted (secret).
          const writable: number[] = [];
          const readonly: number[] = [];
          const foreign: number[] = [];
          for (let f = 1; f < FRAMES; f++) {
            if (f <= 8) writable.push(front.grant(f, false));
            else if (f <= 12) {
              domain.frame(f).fill(CANARY);
              readonly.push(front.grant(f, true));
            } else if (f <= 16) {
              stamp(domain.frame(f), FOREIGN);
              foreign.push(front.grant(f, false, BACK_DOMID + 3));
            } else stamp(domain.frame(f), SECRET);
          }
          const ungranted = [0, 1, 7, domain.grants.entries - 1, domain.grants.entries, 0xffffffff, ...front.ringRefs];
          const pools = [writable, readonly, foreign, ungranted];
          const pick = (n: number) => {
            const pool = pools[n % pools.length]!;
            return pool[Math.floor(n / pools.length) % pool.length]!;
          };
          let sent = 0;
          let tampered = false;
          for (const a of script) {
            if (a.kind === 'slot') {
              if (front.ring.freeSlots === 0) {
                await turns(2);
                if (front.ring.pendingResponses() > 0) await front.responses(front.ring.pendingResponses());
                if (!hasRoom(front)) continue;
              }
              const at = front.ring.claimRequestSlot();
              const view = front.ring.view;
              new Uint8Array(view.buffer, view.byteOffset + at, 112).set(a.bytes);
              view.setUint8(at, a.op);
              if (a.op === BlkifOp.INDIRECT) {
                for (let i = 0; i < 8; i++) view.setUint32(at + 28 + 4 * i, pick(a.refs[i]!), true);
                view.setUint16(at + 2, view.getUint16(at + 2, true) % 80, true);
              } else {
                view.setUint8(at + 1, view.getUint8(at + 1) % 14);
                for (let i = 0; i < 11; i++) view.setUint32(at + 24 + 8 * i, pick(a.refs[i]!), true);
                // keep sectors mostly near the device so that range checks on both sides are hit
                if (a.bytes[0]! < 200) view.setUint32(at + 20, 0, true);
                if (a.bytes[1]! < 200) view.setUint32(at + 16, a.bytes[2]! + (a.bytes[3]! & 7), true);
              }
              sent++;
              if (a.push && front.ring.pushRequests()) front.channel.notify();
            } else if (a.kind === 'descriptors') {
              const frame = 1 + (a.page % 8);
              const bytes = domain.frame(frame);
              bytes.set(a.bytes);
              const view = new DataView(bytes.buffer, bytes.byteOffset, 4096);
              for (let i = 0; i < 8; i++) view.setUint32(8 * i, pick(a.refs[i]!), true);
            } else if (a.kind === 'producer') {
              tampered = true;
              Atomics.store(new Int32Array(domain.memory, 0, 4), REQ_PROD, (front.ring.reqProdPvt + a.value) | 0);
              front.channel.notify();
            } else {
              await turns(a.n);
            }
          }
          if (front.ring.pushRequests()) front.channel.notify();
          // let the backend finish what it accepted
          for (
            let i = 0;
            i < 200 && (front.backend.inflight > 0 || (!tampered && front.ring.pendingResponses() < front.ring.outstanding));
            i++
          )
            await turns(1);
          const backend = front.backend;
          const rspProd = Atomics.load(new Int32Array(domain.memory, 0, 4), RSP_PROD);
          // every request the backend took was answered exactly once, whatever the frontend did
          expect(backend.inflight).toBe(0);
          expect((rspProd - start) >>> 0).toBe(backend.stats.requests);
          if (front.broken.length > 0) expect(front.broken).toHaveLength(1);
          else if (!tampered) {
            expect(backend.stats.requests).toBe(sent);
            const responses = await front.responses(front.ring.pendingResponses());
            expect(responses).toHaveLength(sent);
            for (const r of responses) expect([BlkifStatus.OKAY, BlkifStatus.ERROR, BlkifStatus.EOPNOTSUPP]).toContain(r.status);
          }
          await backend.close({ timeoutMs: 2000 });
          for (let f = 9; f <= 12; f++)
            expect(
              domain.frame(f).every((b) => b === CANARY),
              `read-only frame ${f} was written`,
            ).toBe(true);
          for (let f = 13; f <= 16; f++) expect(holds(domain.frame(f), FOREIGN), `frame ${f} granted elsewhere was written`).toBe(true);
          for (let f = 17; f < FRAMES; f++) expect(holds(domain.frame(f), SECRET), `ungranted frame ${f} was written`).toBe(true);
          const stored = new Uint8Array(256 * 512);
          await disk.read(0, [stored]);
          expect(contains(stored, SECRET), 'ungranted memory reached the device').toBe(false);
          expect(contains(stored, FOREIGN), 'memory granted to another domain reached the device').toBe(false);
          for (let ref = 8; ref < domain.grants.entries; ref++)
            expect(domain.grants.mapCount(ref), `grant ${ref} still mapped after close`).toBe(0);
        },
      ),
      { numRuns: 120 },
    );
  }, 120_000);

  it('cannot starve another ring served by the same thread', async () => {
    // Ring A is flooded by a frontend in another thread that refills it as fast as it drains;
    // ring B, served by the same thread as A, must still complete its requests one by one.
    const flooded = await RawFrontend.start({ device: new Ramdisk({ sizeSectors: 64 }), batch: 16 });
    const good = await RawFrontend.start({ device: new Ramdisk({ sizeSectors: 64 }) });
    const floodRef = flooded.grant(1, false);
    const control = new Int32Array(new SharedArrayBuffer(8)); // [stop, rounds]
    const worker = new Worker(
      `const { workerData } = require('node:worker_threads');
       import(workerData.dist).then(({ FrontRing, SharedDomain, writeRwHeader, writeSegment }) => {
         const domain = SharedDomain.attach(workerData.domain);
         const ring = new FrontRing({ buffer: domain.memory, byteOffset: 0, order: 0 });
         const control = workerData.control;
         const channel = { port: workerData.port };
         const words = new Int32Array(workerData.domain.events);
         const deadline = Date.now() + 20000;
         while (Atomics.load(control, 0) === 0 && Date.now() < deadline) {
           for (let n = ring.pendingResponses(); n > 0; n--) ring.takeResponseSlot();
           while (ring.freeSlots > 0) {
             const at = ring.claimRequestSlot();
             writeRwHeader(ring.view, at, 0, 1, 0, 1, 0);
             writeSegment(ring.view, at + 24, workerData.ref, 0, 7);
           }
           if (ring.pushRequests()) {
             // notify the backend's end of the port (its counter is word 3 of the port entry)
             Atomics.add(words, channel.port * 4 + 3, 1);
             Atomics.notify(words, channel.port * 4 + 3);
           }
           Atomics.add(control, 1, 1);
         }
       });`,
      {
        eval: true,
        workerData: {
          dist: new URL('../dist/index.js', import.meta.url).href,
          domain: flooded.domain.descriptor,
          ref: floodRef,
          control,
          port: flooded.channel.port,
        },
      },
    );
    try {
      // wait until the flood is running
      const startBy = performance.now() + 15_000;
      while (flooded.backend.stats.requests < 1000 && performance.now() < startBy) await turns(1);
      expect(flooded.backend.stats.requests, `worker rounds ${Atomics.load(control, 1)}`).toBeGreaterThanOrEqual(1000);
      const page = good.frame();
      const ref = good.grant(page.frame, false);
      const before = flooded.backend.stats.requests;
      for (let i = 0; i < 100; i++) {
        good.send((view, at) => {
          writeRwHeader(view, at, BlkifOp.READ, 1, 0, i, i % 64);
          writeSegment(view, at + 24, ref, 0, 0);
        });
        const [response] = await good.responses(1, 10_000);
        expect(response).toMatchObject({ id: i, status: BlkifStatus.OKAY });
      }
      // and the flooded ring was served meanwhile too
      expect(flooded.backend.stats.requests - before).toBeGreaterThan(0);
      expect(flooded.broken).toEqual([]);
    } finally {
      Atomics.store(control, 0, 1);
      await worker.terminate();
      await flooded.backend.close({ timeoutMs: 2000 });
      await good.backend.close({ timeoutMs: 2000 });
    }
  }, 60_000);

  it('gives other work of its thread a turn after every `batch` requests', async () => {
    // The first device call schedules a macrotask; with 32 requests waiting and batch = 8, the
    // backend must have yielded to it after about 8 of them, not after all 32.
    let seenByMacrotask: number | undefined;
    let scheduled = false;
    const disk = new Ramdisk({ sizeSectors: 64 });
    const probe: BlockDevice = {
      supports: disk.supports,
      getInfo: () => disk.getInfo(),
      read: (sector, buffers) => {
        if (!scheduled) {
          scheduled = true;
          setImmediate(() => (seenByMacrotask = front.backend.stats.requests));
        }
        return disk.read(sector, buffers);
      },
      write: (sector, buffers) => disk.write(sector, buffers),
      disconnect: () => disk.disconnect(),
    };
    const front = await RawFrontend.start({ device: probe, batch: 8 });
    try {
      const ref = front.grant(front.frame().frame, false);
      for (let i = 0; i < 32; i++) {
        front.send((view, at) => {
          writeRwHeader(view, at, BlkifOp.READ, 1, 0, i, 0);
          writeSegment(view, at + 24, ref, 0, 0);
        });
      }
      expect((await front.responses(32)).every((r) => r.status === BlkifStatus.OKAY)).toBe(true);
      await turns(2);
      expect(seenByMacrotask).toBeGreaterThanOrEqual(8);
      expect(seenByMacrotask).toBeLessThan(32);
    } finally {
      await front.backend.close({ timeoutMs: 2000 });
    }
  });
});
