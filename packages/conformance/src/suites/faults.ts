import { isBlockError, sameBytes, type BlockDevice, type BlockInfo } from '@blk/core';
import { describe, expect, it } from 'vitest';
import type { ConformanceOptions } from '../conformance-options.js';
import { expectSameBytes, readSectors } from '../device-fixture.js';
import { pattern } from '../patterns.js';
import { withFaults } from '../with-faults.js';
import type { DeviceOperation } from '../wrap-device.js';

type OverFaults = NonNullable<ConformanceOptions['overFaults']>;

/** How long a request over a failing lower device may take to settle before the suite calls it a hang. */
const SETTLE_MS = 10_000;

/** What the suite fails below the device, and how many faults it injected. */
class FaultPlan {
  readonly failing = new Set<DeviceOperation>();
  /** Fail only every `every`-th call of a failing operation (1: all of them). */
  every = 1;
  injected = 0;
  #calls = 0;

  readonly wrap = (lower: BlockDevice): BlockDevice =>
    withFaults(lower, ({ op }) => {
      if (!this.failing.has(op)) return false;
      if (this.#calls++ % this.every !== 0) return false;
      this.injected++;
      return true;
    });

  set(ops: readonly DeviceOperation[], every = 1): void {
    this.failing.clear();
    for (const op of ops) this.failing.add(op);
    this.every = every;
    this.#calls = 0;
    this.injected = 0;
  }
}

async function withFaultyDevice(
  overFaults: OverFaults,
  body: (device: BlockDevice, info: BlockInfo, plan: FaultPlan) => Promise<void>,
): Promise<void> {
  const plan = new FaultPlan();
  const device = await overFaults(plan.wrap);
  try {
    await body(device, await device.getInfo(), plan);
  } finally {
    plan.set([]);
    await device.disconnect();
  }
}

/** Settles `promise`, failing the test if it takes longer than SETTLE_MS (a hang). */
async function outcome<T>(promise: Promise<T>, what: string): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${SETTLE_MS} ms over a failing lower device`)), SETTLE_MS);
  });
  try {
    return await Promise.race([
      promise.then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
      hang,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function expectIoError(error: unknown, what: string): void {
  const shown = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  expect(isBlockError(error, 'IO'), `${what} rejected with ${shown}, not an IO BlockError`).toBe(true);
}

/** Every sector of `got` is the matching sector of `old` or of `next`. */
function expectOldOrNew(got: Uint8Array, old: Uint8Array, next: Uint8Array, ss: number, what: string): void {
  for (let at = 0; at < got.byteLength; at += ss) {
    const sector = got.subarray(at, at + ss);
    if (!sameBytes(sector, old.subarray(at, at + ss)) && !sameBytes(sector, next.subarray(at, at + ss))) {
      expect.fail(`${what}: sector ${at / ss} is neither the old nor the new data`);
    }
  }
}

export function faultTests(overFaults: OverFaults): void {
  describe('faults in the device underneath', () => {
    it('turns a failing read below into an IO error, never into data', () =>
      withFaultyDevice(overFaults, async (device, info, plan) => {
        const ss = info.sectorSize;
        const data = pattern(2, 4, ss, 900);
        if (device.supports.write) await device.write(2, [data]);
        const expected = device.supports.write ? data : await readSectors(device, info, 2, 4);
        plan.set(['read']);
        const into = new Uint8Array(4 * ss);
        const result = await outcome(device.read(2, [into]), 'a read');
        expect(plan.injected, 'the read reached the lower device').toBeGreaterThan(0);
        if (result.ok) expect.fail('a read whose lower read failed resolved as if it had data');
        else expectIoError(result.error, 'a read whose lower read failed');
        plan.set([]);
        const after = await outcome(readSectors(device, info, 2, 4), 'a read once the faults stopped');
        if (after.ok) expectSameBytes(after.value, expected, 'a read once the faults stopped');
        else expect(isBlockError(after.error), `a read once the faults stopped: ${String(after.error)}`).toBe(true);
      }));

    it('turns a failing write below into an IO error, and leaves each sector old or new', async (ctx) =>
      withFaultyDevice(overFaults, async (device, info, plan) => {
        if (!device.supports.write) return ctx.skip('read-only device');
        const ss = info.sectorSize;
        const old = pattern(6, 4, ss, 901);
        await device.write(6, [old]);
        plan.set(['write']);
        const next = pattern(6, 4, ss, 902);
        const result = await outcome(device.write(6, [next.slice()]), 'a write');
        expect(plan.injected, 'the write reached the lower device').toBeGreaterThan(0);
        if (result.ok) expect.fail('a write whose lower write failed resolved: the data may be lost');
        else expectIoError(result.error, 'a write whose lower write failed');
        plan.set([]);
        const after = await outcome(readSectors(device, info, 6, 4), 'a read once the faults stopped');
        if (after.ok) expectOldOrNew(after.value, old, next, ss, 'after the failed write');
        else expect(isBlockError(after.error), `a read once the faults stopped: ${String(after.error)}`).toBe(true);
      }));

    it('does not report a flush as done when the flush below failed', async (ctx) =>
      withFaultyDevice(overFaults, async (device, info, plan) => {
        if (!device.flush) return ctx.skip('no flush');
        if (device.supports.write) await device.write(1, [pattern(1, 1, info.sectorSize, 903)]);
        plan.set(['flush']);
        const result = await outcome(device.flush(), 'a flush');
        if (result.ok) expect(plan.injected, 'a flush resolved although the flush below it failed').toBe(0);
        else expectIoError(result.error, 'a flush whose lower flush failed');
      }));

    it('settles every request under intermittent faults with data or an IO error, never wrong data', () =>
      withFaultyDevice(overFaults, async (device, info, plan) => {
        const ss = info.sectorSize;
        const runs = Array.from({ length: 12 }, (_, i) => (i * 2) % (info.sizeSectors - 1));
        const writable = device.supports.write;
        const old = runs.map((s) => pattern(s, 1, ss, 904));
        if (writable) for (const [i, s] of runs.entries()) await device.write(s, [old[i]!]);
        const before = writable ? old : await Promise.all(runs.map((s) => readSectors(device, info, s, 1)));
        const next = runs.map((s) => pattern(s, 1, ss, 905));
        plan.set(writable ? ['read', 'write'] : ['read'], 3);
        const reads = runs.map((s) => outcome(readSectors(device, info, s, 1), `read of sector ${s}`));
        const writes = writable ? runs.map((s, i) => outcome(device.write(s, [next[i]!.slice()]), `write of sector ${s}`)) : [];
        const [readResults, writeResults] = await Promise.all([Promise.all(reads), Promise.all(writes)]);
        expect(plan.injected, 'some faults were injected').toBeGreaterThan(0);
        for (const [i, r] of readResults.entries()) {
          if (r.ok) expectOldOrNew(r.value, before[i]!, writable ? next[i]! : before[i]!, ss, `read of sector ${runs[i]} under faults`);
          else expectIoError(r.error, `read of sector ${runs[i]} under faults`);
        }
        for (const w of writeResults) if (!w.ok) expectIoError(w.error, 'write under faults');
        plan.set([]);
        for (const [i, s] of runs.entries()) {
          const after = await outcome(readSectors(device, info, s, 1), `read of sector ${s} after the faults`);
          if (!after.ok) {
            expect(isBlockError(after.error), String(after.error)).toBe(true);
            continue;
          }
          const w = writeResults[i];
          if (w?.ok) expectSameBytes(after.value, next[i]!, `sector ${s}, whose write resolved`);
          else expectOldOrNew(after.value, before[i]!, writable ? next[i]! : before[i]!, ss, `sector ${s}, whose write failed`);
        }
      }));
  });
}
