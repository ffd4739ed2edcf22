import { sameBytes, type BlockDevice, type BlockInfo } from '@blk/core';
import { describe, expect, it } from 'vitest';
import { readSectors, withDevice, type DeviceFactory } from '../device-fixture.js';
import { pattern, splitSectors } from '../patterns.js';

/** Sectors each race works on, and how many races a test runs (kept small: the suite runs per variant). */
const SPAN = 8;
const ROUNDS = 6;

interface RaceWrite {
  readonly at: number;
  readonly data: Uint8Array;
}

/** Overlapping writes inside [0, SPAN): each covers a different part, all cover sectors 3..4. */
const SHAPES: readonly (readonly [number, number])[][] = [
  [
    [0, 8],
    [2, 4],
    [1, 6],
    [3, 5],
  ],
  [
    [3, 2],
    [0, 5],
    [3, 5],
    [1, 4],
  ],
  [
    [0, 8],
    [0, 8],
    [2, 3],
    [3, 4],
  ],
];

function sectorOf(bytes: Uint8Array, s: number, ss: number): Uint8Array {
  return bytes.subarray(s * ss, (s + 1) * ss);
}

/** The data a sector may hold: what was there before, or what any write covering it brought. */
function candidates(old: Uint8Array, writes: readonly RaceWrite[], s: number, ss: number): Uint8Array[] {
  const out = [sectorOf(old, s, ss)];
  for (const w of writes) {
    const n = w.data.byteLength / ss;
    if (s >= w.at && s < w.at + n) out.push(sectorOf(w.data, s - w.at, ss));
  }
  return out;
}

function checkWholeSectors(got: Uint8Array, old: Uint8Array, writes: readonly RaceWrite[], ss: number, what: string): void {
  for (let s = 0; s < SPAN; s++) {
    const sector = sectorOf(got, s, ss);
    if (!candidates(old, writes, s, ss).some((c) => sameBytes(c, sector))) {
      expect.fail(`${what}: sector ${s} of the race is neither its old content nor any write's (a torn or misplaced sector)`);
    }
  }
}

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [items.slice()];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

/** Whether `final` is `old` with the writes applied one after another in some order. */
function isSomeOrder(final: Uint8Array, old: Uint8Array, writes: readonly RaceWrite[], ss: number): boolean {
  return permutations(writes).some((order) => {
    const state = old.slice();
    for (const w of order) state.set(w.data, w.at * ss);
    return sameBytes(state, final);
  });
}

async function race(device: BlockDevice, info: BlockInfo, round: number): Promise<void> {
  const ss = info.sectorSize;
  const base = (round * 11) % (info.sizeSectors - SPAN + 1);
  const old = pattern(base, SPAN, ss, 500 + round);
  await device.write(base, [old]);
  const shape = SHAPES[round % SHAPES.length]!;
  const writes: RaceWrite[] = shape.map(([at, n], i) => ({ at, data: pattern(base + at, n, ss, 600 + round * 8 + i) }));
  const reads: Promise<Uint8Array>[] = [];
  const pending: Promise<unknown>[] = [];
  for (const [i, w] of writes.entries()) {
    // Gathered from uneven pieces, and a fresh copy, so the buffers are the device's to read.
    pending.push(device.write(base + w.at, splitSectors(w.data.slice(), ss, [1, i % 3])));
    reads.push(readSectors(device, info, base, SPAN));
  }
  const [seen] = await Promise.all([Promise.all(reads), Promise.all(pending)]);
  for (const [i, got] of seen.entries()) checkWholeSectors(got, old, writes, ss, `round ${round}, read ${i} racing the writes`);
  const final = await readSectors(device, info, base, SPAN);
  checkWholeSectors(final, old, writes, ss, `round ${round}, after the writes`);
  if (!isSomeOrder(final, old, writes, ss)) {
    expect.fail(`round ${round}: the final content is not the result of any order of the ${writes.length} overlapping writes`);
  }
}

/** A write and a zeroing of overlapping sectors at once: whole sectors, and one of the two orders. */
async function zeroRace(device: BlockDevice, info: BlockInfo, zero: (sector: number, count: number) => Promise<void>): Promise<void> {
  const ss = info.sectorSize;
  const old = pattern(4, SPAN, ss, 700);
  await device.write(4, [old]);
  const data = pattern(5, 4, ss, 701);
  const zeroed: RaceWrite = { at: 2, data: new Uint8Array(5 * ss) };
  const pending = [device.write(5, [data.slice()]), zero(4 + zeroed.at, 5)];
  const seen = readSectors(device, info, 4, SPAN);
  const [got] = await Promise.all([seen, Promise.all(pending)]);
  const writes = [{ at: 1, data }, zeroed];
  checkWholeSectors(got, old, writes, ss, 'a read racing a write and a zeroing');
  const final = await readSectors(device, info, 4, SPAN);
  if (!isSomeOrder(final, old, writes, ss)) expect.fail('the final content is neither write-then-zero nor zero-then-write');
}

export function concurrencyTests(factory: DeviceFactory): void {
  describe('overlapping concurrent requests', () => {
    it('keeps every sector whole under overlapping writes, zeroes and racing reads, and ends in an order the writes could have had', async (ctx) =>
      withDevice(factory, async (device, info) => {
        if (!device.supports.write) return ctx.skip('read-only device');
        if (!device.supports.concurrent) return ctx.skip('device is not concurrent');
        for (let round = 0; round < ROUNDS; round++) await race(device, info, round);
        const zero = device.writeZeroes?.bind(device) ?? (device.supports.discardZeroes ? device.discard?.bind(device) : undefined);
        if (zero) await zeroRace(device, info, zero);
      }));
  });
}
