import { join } from 'node:path';
import { pattern } from '@blk/conformance';
import { makeTempDir } from '@blk/test-kit';
import fc from 'fast-check';
import { afterAll, expect, it } from 'vitest';
import { openFmapDevice, type FmapDevice, type FmapDeviceOptions } from '../src/index.js';
import { describeEngines } from './helpers/engines.js';
import { FaultIo } from './helpers/fault-io.js';
import { UnitModel } from './helpers/unit-model.js';

const temp = makeTempDir('blk-fmap-device-model-');
afterAll(() => temp.remove());
let serial = 0;

const UNIT = 4096;
const SECTOR = 512;
const PER_UNIT = UNIT / SECTOR;
const FANOUT = (UNIT - 32) / 8;
// Sizes around the points where the map gains a level (one leaf holds 508 units, two levels 508²).
const SIZES = [
  3,
  PER_UNIT + 5,
  PER_UNIT * (FANOUT - 1) + 3,
  PER_UNIT * FANOUT,
  PER_UNIT * FANOUT + 1,
  PER_UNIT * 1000 + 1,
  PER_UNIT * FANOUT * FANOUT + 8,
  PER_UNIT * (FANOUT * FANOUT + 1) + 2,
];

type Where = 'start' | 'end' | 'leaf' | 'any';
type Op =
  | { kind: 'write'; where: Where; at: number; count: number; seed: number }
  | { kind: 'discard' | 'writeZeroes'; where: Where; at: number; count: number }
  | { kind: 'zeroAll' }
  | { kind: 'resize'; size: number }
  | { kind: 'flush' }
  | { kind: 'reopen' }
  | { kind: 'crash'; losePower: boolean; seed: number };

const where = fc.constantFrom<Where>('start', 'end', 'leaf', 'any');
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      where,
      at: fc.nat(),
      count: fc.integer({ min: 1, max: 40 }),
      seed: fc.nat(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constantFrom('discard' as const, 'writeZeroes' as const),
      where,
      at: fc.nat(),
      count: fc.integer({ min: 0, max: 40 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'zeroAll' as const }) },
  { weight: 2, arbitrary: fc.nat({ max: SIZES.length - 1 }).map((i) => ({ kind: 'resize' as const, size: SIZES[i]! })) },
  { weight: 3, arbitrary: fc.constant({ kind: 'flush' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('crash' as const), losePower: fc.boolean(), seed: fc.nat() }) },
);

function place(model: UnitModel, w: Where, at: number, count: number): [number, number] {
  const size = model.sizeSectors;
  let sector: number;
  if (w === 'start') sector = at % 64;
  else if (w === 'end') sector = size - 1 - (at % 64);
  else if (w === 'leaf') sector = PER_UNIT * FANOUT - 32 + (at % 64);
  else sector = at % (size + 1);
  sector = Math.min(size, Math.max(0, sector));
  return [sector, Math.min(count, size - sector)];
}

function random(seed: number): () => number {
  let x = seed | 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;

async function readUnit(device: FmapDevice, sizeSectors: number, unit: number): Promise<Uint8Array> {
  const first = unit * PER_UNIT;
  const count = Math.min(PER_UNIT, sizeSectors - first);
  const out = new Uint8Array(UNIT);
  await device.read(first, [out.subarray(0, count * SECTOR)]);
  return out;
}

/** The units the device reports mapped, found with seekMapped/seekUnmapped. */
async function mappedUnits(device: FmapDevice, size: number): Promise<number[]> {
  const units: number[] = [];
  for (let at = await device.seekMapped(0); at < size && units.length <= 4096;) {
    const end = await device.seekUnmapped(at);
    for (let unit = Math.floor(at / PER_UNIT); unit * PER_UNIT < end; unit++) units.push(unit);
    at = await device.seekMapped(end);
  }
  return units;
}

async function checkRange(device: FmapDevice, model: UnitModel, sector: number, count: number, step: string): Promise<void> {
  const from = Math.max(0, sector - PER_UNIT);
  const to = Math.min(model.sizeSectors, sector + count + PER_UNIT);
  const got = new Uint8Array((to - from) * SECTOR);
  await device.read(from, [got]);
  expect(same(got, model.expected(from, to - from)), `${step}: sectors ${from}..${to}`).toBe(true);
  for (const s of [sector, from, Math.max(0, to - 1)]) {
    expect(await device.seekMapped(s), `${step}: seekMapped(${s})`).toBe(model.seek(s, true));
    expect(await device.seekUnmapped(s), `${step}: seekUnmapped(${s})`).toBe(model.seek(s, false));
  }
}

function checkStats(device: FmapDevice, model: UnitModel, step: string): void {
  const stats = device.stats();
  expect(stats.mappedUnits, `${step}: mapped units`).toBe(model.units.size);
  expect(stats.dataBlocks, `${step}: data blocks`).toBe(model.units.size);
  expect(stats.leakedBlocks, `${step}: leaked blocks`).toBe(0);
  expect(stats.conflictingBlocks, `${step}: blocks held twice`).toBe(0);
}

/** The whole device against the model: size, which units are mapped, and each one's content. */
async function checkAll(device: FmapDevice, model: UnitModel, step: string): Promise<void> {
  expect((await device.getInfo()).sizeSectors, `${step}: size`).toBe(model.sizeSectors);
  checkStats(device, model, step);
  expect(await mappedUnits(device, model.sizeSectors), `${step}: mapped units`).toEqual([...model.units.keys()].sort((a, b) => a - b));
  for (const [unit, content] of model.units)
    expect(same(await readUnit(device, model.sizeSectors, unit), content), `${step}: unit ${unit}`).toBe(true);
}

/**
 * After a crash: the committed size and map; each unit mapped then holds its committed content or
 * one it held in place since (whole, after a kill; sector by sector, after a power cut).
 */
async function checkRecovered(device: FmapDevice, model: UnitModel, perSector: boolean, step: string): Promise<void> {
  const { committed } = model;
  expect((await device.getInfo()).sizeSectors, `${step}: size`).toBe(committed.sizeSectors);
  expect(await mappedUnits(device, committed.sizeSectors), `${step}: mapped units`).toEqual(
    [...committed.units.keys()].sort((a, b) => a - b),
  );
  const recovered = new Map<number, Uint8Array>();
  for (const unit of committed.units.keys()) {
    const got = await readUnit(device, committed.sizeSectors, unit);
    const allowed = model.allowedAfterCrash(unit);
    if (perSector) {
      for (let s = 0; s < PER_UNIT; s++) {
        const piece = (b: Uint8Array) => b.subarray(s * SECTOR, (s + 1) * SECTOR);
        expect(
          allowed.some((a) => same(piece(a), piece(got))),
          `${step}: unit ${unit} sector ${s}`,
        ).toBe(true);
      }
    } else {
      expect(
        allowed.some((a) => same(a, got)),
        `${step}: unit ${unit} is neither its committed content nor one it held since`,
      ).toBe(true);
    }
    recovered.set(unit, got);
  }
  // What the device holds now is the new baseline.
  model.sizeSectors = committed.sizeSectors;
  model.units = recovered;
  model.commit();
  checkStats(device, model, step);
}

describeEngines('fmap device against a unit model', ({ name, options }) => {
  it('matches the model through writes, discards, resizes, flushes, reopens and crashes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: SIZES.length - 1 }), fc.array(opArb, { minLength: 1, maxLength: 30 }), async (sizeIndex, ops) => {
        const path = join(temp.path, `model-${serial++}.fmap`);
        const engine: Pick<FmapDeviceOptions, 'engine' | 'cacheBytes'> = {
          engine: name,
          ...(options.cacheBytes ? { cacheBytes: options.cacheBytes } : {}),
        };
        let io = new FaultIo();
        const size = SIZES[sizeIndex]!;
        let device = await openFmapDevice(path, { ...engine, io, create: { sizeSectors: size, sectorSize: SECTOR, blockSize: UNIT } });
        const model = new UnitModel(UNIT, SECTOR, size);
        model.commit();
        try {
          for (const [i, op] of ops.entries()) {
            const step = `step ${i} (${op.kind})`;
            switch (op.kind) {
              case 'write': {
                const [sector, count] = place(model, op.where, op.at, op.count);
                const data = pattern(sector, count, SECTOR, op.seed);
                await device.write(sector, [data]);
                model.write(sector, data);
                await checkRange(device, model, sector, count, step);
                break;
              }
              case 'discard':
              case 'writeZeroes': {
                const [sector, count] = place(model, op.where, op.at, op.count);
                await device[op.kind](sector, count);
                model.zero(sector, count);
                await checkRange(device, model, sector, count, step);
                break;
              }
              case 'zeroAll':
                await device.writeZeroes(0, model.sizeSectors);
                model.zero(0, model.sizeSectors);
                break;
              case 'resize':
                await device.resize(op.size);
                model.resize(op.size);
                await checkRange(device, model, Math.max(0, Math.min(op.size, model.sizeSectors) - PER_UNIT), 2 * PER_UNIT, step);
                break;
              case 'flush':
                await device.flush();
                model.commit();
                break;
              case 'reopen':
                await device.disconnect();
                model.commit();
                io = new FaultIo();
                device = await openFmapDevice(path, { ...engine, io });
                await checkAll(device, model, step);
                break;
              case 'crash': {
                const fd = [...io.fds][0]!;
                io.cut();
                const powerCut = op.losePower && name === 'pread';
                if (powerCut) {
                  const lose = random(op.seed);
                  io.losePower(fd, () => lose() < 0.5);
                }
                await device.disconnect();
                io = new FaultIo();
                device = await openFmapDevice(path, { ...engine, io });
                await checkRecovered(device, model, powerCut, step);
                break;
              }
            }
            checkStats(device, model, step);
          }
          await device.disconnect();
          device = await openFmapDevice(path, engine);
          model.commit();
          await checkAll(device, model, 'after the last reopen');
        } finally {
          await device.disconnect();
        }
      }),
      { numRuns: 60 },
    );
  });
});
