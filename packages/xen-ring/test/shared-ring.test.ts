import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BackRing, FrontRing, HEADER_SIZE, REQ_PROD, RSP_PROD, SLOT_SIZE, notifyNeeded, ringEntries, type RingArea } from '../src/index.js';

function area(order = 0): RingArea {
  return { buffer: new SharedArrayBuffer(4096 << order), byteOffset: 0, order };
}

function header(a: RingArea): number[] {
  const words = new Uint32Array(a.buffer, a.byteOffset, HEADER_SIZE / 4);
  return [...words];
}

describe('ring geometry', () => {
  it('rounds (4096·2^order − 64) / 112 down to a power of two: 32, 64, 128, 256, 512 slots', () => {
    expect([0, 1, 2, 3, 4].map(ringEntries)).toEqual([32, 64, 128, 256, 512]);
    for (let order = 0; order <= 4; order++) {
      const n = ringEntries(order);
      expect(HEADER_SIZE + n * SLOT_SIZE).toBeLessThanOrEqual(4096 << order);
      expect(HEADER_SIZE + 2 * n * SLOT_SIZE).toBeGreaterThan(4096 << order);
    }
  });

  it('refuses orders outside 0..4', () => {
    for (const order of [-1, 5, 0.5, Number.NaN]) expect(() => ringEntries(order)).toThrow(RangeError);
  });

  it('places slot i at 64 + (i mod n)·112, for any u32 index', () => {
    const ring = FrontRing.initialise(area(0));
    expect(ring.slotOffset(0)).toBe(64);
    expect(ring.slotOffset(31)).toBe(64 + 31 * 112);
    expect(ring.slotOffset(32)).toBe(64);
    expect(ring.slotOffset(0xffffffff)).toBe(64 + 31 * 112);
    expect(FrontRing.initialise(area(4)).slotOffset(0xfffffe00 + 511)).toBe(64 + 511 * 112);
  });
});

describe('header initialisation', () => {
  it('only the frontend initialises: producers at the start, events one past, padding zeroed', () => {
    const a = area(1);
    new Uint8Array(a.buffer).fill(0xaa);
    FrontRing.initialise(a);
    expect(header(a)).toEqual([0, 1, 0, 1, ...new Array<number>(12).fill(0)]);
    FrontRing.initialise(a, 0xfffffff0);
    expect(header(a).slice(0, 4)).toEqual([0xfffffff0, 0xfffffff1, 0xfffffff0, 0xfffffff1]);
  });

  it('the backend attaches without writing a byte of the page', () => {
    const a = area(0);
    const front = FrontRing.initialise(a, 12345);
    front.claimRequestSlot();
    front.pushRequests();
    const before = new Uint8Array(a.buffer).slice();
    const back = new BackRing(a);
    expect(new Uint8Array(a.buffer)).toEqual(before);
    expect(back.reqCons).toBe(12345);
    expect(back.pendingRequests()).toBe(1);
  });
});

describe('notify decision (RING_PUSH_*_AND_CHECK_NOTIFY)', () => {
  it('is true exactly when the event index lies in (old, new], in u32 arithmetic', () => {
    expect(notifyNeeded(10, 11, 11)).toBe(true);
    expect(notifyNeeded(10, 15, 11)).toBe(true);
    expect(notifyNeeded(10, 15, 15)).toBe(true);
    expect(notifyNeeded(10, 15, 16)).toBe(false);
    expect(notifyNeeded(10, 15, 10)).toBe(false);
    expect(notifyNeeded(10, 15, 3)).toBe(false);
    // across 2^32
    expect(notifyNeeded(0xfffffffe, 2, 0xffffffff)).toBe(true);
    expect(notifyNeeded(0xfffffffe, 2, 0)).toBe(true);
    expect(notifyNeeded(0xfffffffe, 2, 2)).toBe(true);
    expect(notifyNeeded(0xfffffffe, 2, 3)).toBe(false);
    expect(notifyNeeded(0xfffffffe, 2, 0xfffffffe)).toBe(false);
  });
});

describe('guards against a broken peer', () => {
  it('backend: a producer more than n ahead of the responses breaks the ring instead of being served', () => {
    const a = area(0);
    FrontRing.initialise(a, 0xfffffff0);
    const back = new BackRing(a);
    Atomics.store(new Int32Array(a.buffer), REQ_PROD, (0xfffffff0 + 33) | 0);
    expect(back.pendingRequests()).toBe(0);
    expect(back.broken).toMatch(/impossible/);
    expect(back.finalCheckForRequests()).toBe(false);
  });

  it('backend: a producer moved backwards breaks the ring', () => {
    const a = area(0);
    const front = FrontRing.initialise(a, 5);
    for (let i = 0; i < 4; i++) front.claimRequestSlot();
    front.pushRequests();
    const back = new BackRing(a);
    back.takeRequestSlot();
    back.takeRequestSlot();
    Atomics.store(new Int32Array(a.buffer), REQ_PROD, 6);
    expect(back.pendingRequests()).toBe(0);
    expect(back.broken).toBeDefined();
  });

  it('backend: never offers more than n unanswered requests even when the producer is exactly n ahead', () => {
    const a = area(0);
    const front = FrontRing.initialise(a, 0xffffffe0);
    for (let i = 0; i < 32; i++) front.claimRequestSlot();
    front.pushRequests();
    const back = new BackRing(a);
    expect(back.pendingRequests()).toBe(32);
    for (let i = 0; i < 32; i++) back.takeRequestSlot();
    expect(back.pendingRequests()).toBe(0);
    expect(back.broken).toBeUndefined();
  });

  it('frontend: more responses than requests outstanding breaks the ring', () => {
    const a = area(0);
    const front = FrontRing.initialise(a, 0xfffffffe);
    front.claimRequestSlot();
    front.pushRequests();
    Atomics.store(new Int32Array(a.buffer), RSP_PROD, (0xfffffffe + 2) | 0);
    expect(front.pendingResponses()).toBe(0);
    expect(front.broken).toMatch(/responses/);
  });
});

const actions = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('produce' as const), count: fc.integer({ min: 1, max: 40 }) }),
    fc.constant({ kind: 'pushRequests' as const }),
    fc.record({ kind: fc.constant('consume' as const), count: fc.integer({ min: 1, max: 40 }) }),
    fc.record({ kind: fc.constant('respond' as const), count: fc.integer({ min: 1, max: 40 }) }),
    fc.constant({ kind: 'pushResponses' as const }),
    fc.record({ kind: fc.constant('collect' as const), count: fc.integer({ min: 1, max: 40 }) }),
    fc.constant({ kind: 'backSleep' as const }),
    fc.constant({ kind: 'frontSleep' as const }),
  ),
  { minLength: 1, maxLength: 300 },
);

describe('front and back against a model queue, starting anywhere in u32 space', () => {
  it('delivers every request and response once, in order, never more than n outstanding, and never loses a wake-up', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constant(0), fc.constant(0xfffffff0), fc.constant(0xffffffff), fc.integer({ min: 0, max: 0xffffffff })),
        fc.integer({ min: 0, max: 2 }),
        actions,
        (start, order, script) => {
          const a = area(order);
          const front = FrontRing.initialise(a, start);
          const back = new BackRing(a);
          const n = front.entries;
          let nextId = 0;
          const sent: number[] = []; // pushed, not yet consumed by the back
          const unpublished: number[] = []; // written, not yet pushed
          const taken: number[] = []; // consumed by the back, not answered
          const answered: number[] = []; // responses written, not pushed
          const published: number[] = []; // responses pushed, not collected
          let backAsleep = false;
          let frontAsleep = false;
          for (const action of script) {
            switch (action.kind) {
              case 'produce':
                for (let i = 0; i < action.count && front.freeSlots > 0; i++) {
                  const at = front.claimRequestSlot();
                  front.view.setUint32(at + 8, nextId, true);
                  unpublished.push(nextId++);
                }
                expect(front.outstanding).toBeLessThanOrEqual(n);
                break;
              case 'pushRequests': {
                const notify = front.pushRequests();
                if (backAsleep && unpublished.length > 0) {
                  expect(notify, 'a sleeping backend must be notified').toBe(true);
                }
                if (notify) backAsleep = false;
                sent.push(...unpublished.splice(0));
                break;
              }
              case 'consume': {
                const pending = back.pendingRequests();
                expect(pending).toBeLessThanOrEqual(sent.length);
                for (let i = 0; i < Math.min(action.count, pending); i++) {
                  const at = back.takeRequestSlot();
                  expect(back.view.getUint32(at + 8, true)).toBe(sent.shift());
                  taken.push(back.view.getUint32(at + 8, true));
                }
                break;
              }
              case 'respond':
                for (let i = 0; i < action.count && taken.length > 0; i++) {
                  const id = taken.shift()!;
                  back.view.setUint32(back.claimResponseSlot(), id, true);
                  answered.push(id);
                }
                break;
              case 'pushResponses': {
                const notify = back.pushResponses();
                if (frontAsleep && answered.length > 0) expect(notify, 'a sleeping frontend must be notified').toBe(true);
                if (notify) frontAsleep = false;
                published.push(...answered.splice(0));
                break;
              }
              case 'collect': {
                const pending = front.pendingResponses();
                expect(pending).toBe(published.length);
                for (let i = 0; i < Math.min(action.count, pending); i++) {
                  expect(front.view.getUint32(front.takeResponseSlot(), true)).toBe(published.shift());
                }
                break;
              }
              case 'backSleep':
                if (!back.finalCheckForRequests()) {
                  expect(sent.length).toBe(0);
                  backAsleep = true;
                } else expect(sent.length).toBeGreaterThan(0);
                break;
              case 'frontSleep':
                if (!front.finalCheckForResponses()) {
                  expect(published.length).toBe(0);
                  frontAsleep = true;
                } else expect(published.length).toBeGreaterThan(0);
                break;
            }
            expect(back.broken).toBeUndefined();
            expect(front.broken).toBeUndefined();
            const words = new Uint32Array(a.buffer, 0, 4);
            expect((words[REQ_PROD]! - front.rspCons) >>> 0).toBeLessThanOrEqual(n);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('carries 5·n requests across the 2^32 wrap from 0xFFFFFFF0 with indices wrapping to small numbers', () => {
    const a = area(0);
    const front = FrontRing.initialise(a, 0xfffffff0);
    const back = new BackRing(a);
    let received = 0;
    for (let round = 0; round < 5 * 32; round += 7) {
      const batch = Math.min(7, front.freeSlots);
      for (let i = 0; i < batch; i++) front.view.setUint32(front.claimRequestSlot() + 8, round + i, true);
      front.pushRequests();
      const pending = back.pendingRequests();
      expect(pending).toBe(batch);
      for (let i = 0; i < pending; i++) {
        const at = back.takeRequestSlot();
        expect(back.view.getUint32(at + 8, true)).toBe(round + i);
        back.view.setUint32(back.claimResponseSlot(), round + i, true);
      }
      back.pushResponses();
      for (let i = front.pendingResponses(); i > 0; i--) {
        expect(front.view.getUint32(front.takeResponseSlot(), true)).toBe(received++);
      }
    }
    expect(received).toBe(161);
    expect(front.reqProdPvt).toBe((0xfffffff0 + 161) >>> 0);
    expect(front.reqProdPvt).toBeLessThan(200);
    expect(back.rspProdPvt).toBe(front.reqProdPvt);
  });
});
