import { closeSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '@blk/test-kit';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { openFmapDevice, type FmapDeviceOptions } from '../src/index.js';
import {
  ImageBuilder,
  InjectedEio,
  SimDisk,
  diskChoices,
  randomFrom,
  type CrashPoint,
  type EnumerationLimits,
} from './helpers/sim-disk.js';

/*
 * The power-loss model for the fmap device (see power-loss.test.ts for BlockFile): a trace of
 * whole-unit writes, in-place rewrites, discards, resizes and flushes runs on a SimDisk; every
 * disk state a crash point allows must open as the last completed flush or one in flight, where
 * a unit that stayed mapped since may show, sector by sector, any version written in place since
 * (the device writes data in place; only its map is copy-on-write).
 */

const temp = makeTempDir('blk-fmap-device-power-');
afterAll(() => temp.remove());
const path = join(temp.path, 'sim.fmap');

const SECTOR = 512;
const UNIT = 4096;
const PER_UNIT = UNIT / SECTOR;
const SIZES = [24, 32, 40].map((units) => units * PER_UNIT);

type Engine = 'pread' | 'mmap';

/** A state a recovery may find: size, and for each mapped unit the versions its sectors may show. */
interface Candidate {
  readonly name: string;
  readonly sizeSectors: number;
  readonly units: ReadonlyMap<number, ReadonlySet<number>>;
}

/** A commit and what happened in place since: the units still in the block it gave them. */
interface Live {
  readonly name: string;
  readonly sizeSectors: number;
  readonly units: Map<number, Set<number>>;
  readonly inPlace: Set<number>;
}

type Op =
  | { readonly kind: 'write'; readonly unit: number }
  | { readonly kind: 'rewrite'; readonly pick: number }
  | { readonly kind: 'discard'; readonly unit: number; readonly count: number; readonly zeroes: boolean }
  | { readonly kind: 'resize'; readonly size: number }
  | { readonly kind: 'flush'; readonly fail?: { readonly kind: 'write' | 'datasync'; readonly skip: number } };

function deviceOptions(engine: Engine, disk: SimDisk<readonly Candidate[]>): FmapDeviceOptions {
  return engine === 'mmap'
    ? { engine, lock: false, io: disk, native: disk.native }
    : { engine, lock: false, io: disk, cacheBytes: 16 * UNIT };
}

function stamp(unit: number, version: number): Uint8Array {
  const bytes = new Uint8Array(UNIT);
  const view = new DataView(bytes.buffer);
  for (let s = 0; s < PER_UNIT; s++) {
    bytes.fill((unit * 7 + version + s) & 0xff, s * SECTOR, (s + 1) * SECTOR);
    view.setUint32(s * SECTOR, unit, true);
    view.setUint32(s * SECTOR + 4, version, true);
    view.setUint32(s * SECTOR + 8, s, true);
  }
  return bytes;
}

/** The device's IO error caused (through the BlockFile's E_IO) by the SimDisk's injected EIO. */
function isInjected(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) if (e instanceof InjectedEio) return true;
  return false;
}

const freeze = (live: Live): Candidate => ({
  name: live.name,
  sizeSectors: live.sizeSectors,
  units: new Map([...live.units].map(([unit, versions]) => [unit, new Set(versions)])),
});

/** Runs `ops` on a new device over a SimDisk; returns every crash point after it was created. */
async function runTrace(engine: Engine, ops: readonly Op[]): Promise<CrashPoint<readonly Candidate[]>[]> {
  rmSync(path, { force: true });
  const disk = new SimDisk<readonly Candidate[]>();
  const device = await openFmapDevice(path, { ...deviceOptions(engine, disk), create: { sizeSectors: SIZES[1]!, blockSize: UNIT } });
  const points: CrashPoint<readonly Candidate[]>[] = [];
  const mapped = new Map<number, number>();
  let sizeSectors = SIZES[1]!;
  let version = 0;
  let flushes = 0;
  let completed: Live = { name: 'created', sizeSectors, units: new Map(), inPlace: new Set() };
  let inFlight: Live[] = [];
  disk.expected = () => [completed, ...inFlight].map(freeze);
  disk.onCrashPoint = (point) => points.push(point);
  const unmap = (unit: number) => {
    mapped.delete(unit);
    for (const live of [completed, ...inFlight]) live.inPlace.delete(unit);
  };
  const write = async (unit: number) => {
    version++;
    await device.write(unit * PER_UNIT, [stamp(unit, version)]);
    if (mapped.has(unit)) {
      for (const live of [completed, ...inFlight]) if (live.inPlace.has(unit)) live.units.get(unit)!.add(version);
    }
    mapped.set(unit, version);
  };
  const units = () => sizeSectors / PER_UNIT;
  for (const op of ops) {
    switch (op.kind) {
      case 'write':
        await write(op.unit % units());
        break;
      case 'rewrite': {
        const list = [...mapped.keys()];
        if (list.length > 0) await write(list[op.pick % list.length]!);
        break;
      }
      case 'discard': {
        const unit = op.unit % units();
        const count = Math.min(op.count, units() - unit);
        await (op.zeroes ? device.writeZeroes(unit * PER_UNIT, count * PER_UNIT) : device.discard(unit * PER_UNIT, count * PER_UNIT));
        for (let u = unit; u < unit + count; u++) unmap(u);
        break;
      }
      case 'resize':
        await device.resize(op.size);
        sizeSectors = op.size;
        for (const unit of [...mapped.keys()]) if (unit >= units()) unmap(unit);
        break;
      case 'flush': {
        const live: Live = {
          name: `flush ${++flushes}`,
          sizeSectors,
          units: new Map([...mapped].map(([unit, v]) => [unit, new Set([v])])),
          inPlace: new Set(mapped.keys()),
        };
        const before = inFlight;
        inFlight = [...inFlight, live];
        const headerWrites = disk.headerWrites;
        disk.failAt = op.fail;
        let failed = false;
        try {
          await device.flush();
        } catch (error) {
          if (!op.fail || !isInjected(error)) throw error;
          failed = true;
          if (disk.headerWrites === headerWrites) inFlight = before;
        }
        disk.failAt = undefined;
        if (failed) {
          // the device refuses changes after a failed commit until a flush succeeds: this one commits the same state
          if (!inFlight.includes(live)) inFlight = [...inFlight, live];
          await device.flush();
        }
        completed = live;
        inFlight = [];
        break;
      }
    }
    disk.observe(op.kind);
  }
  disk.onCrashPoint = undefined;
  return points;
}

const recoveryDisk = new SimDisk<readonly Candidate[]>();
const images = new ImageBuilder();

/** Why `unit` of the recovered device does not fit `candidate`, or undefined when it does. */
function unitMismatch(bytes: Uint8Array, unit: number, candidate: Candidate): string | undefined {
  const allowed = candidate.units.get(unit);
  if (!allowed) return bytes.every((b) => b === 0) ? undefined : `unit ${unit} should read as zeroes`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let s = 0; s < PER_UNIT; s++) {
    const at = s * SECTOR;
    const v = view.getUint32(at + 4, true);
    const whole =
      view.getUint32(at, true) === unit &&
      view.getUint32(at + 8, true) === s &&
      allowed.has(v) &&
      bytes.subarray(at + 12, at + SECTOR).every((b) => b === ((unit * 7 + v + s) & 0xff));
    if (!whole) return `unit ${unit} sector ${s} holds neither version ${[...allowed].join('/')} (found version ${v})`;
  }
  return undefined;
}

interface Tally {
  points: number;
  states: number;
  recoveredInFlight: number;
}

async function checkPoint(
  engine: Engine,
  point: CrashPoint<readonly Candidate[]>,
  limits: EnumerationLimits,
  seed: number,
  tally: Tally,
): Promise<void> {
  tally.points++;
  const random = randomFrom(seed ^ (point.index * 0x9e3779b1));
  const bytes = new Uint8Array(UNIT);
  for (const choice of diskChoices(point.unsynced, limits, random)) {
    tally.states++;
    const where = `[${engine}] seed ${seed}, crash point ${point.index} (after ${point.after}; ${point.unsynced.length} unsynced records), disk state: ${choice.what}`;
    recoveryDisk.reset(images.build(point, choice));
    let device;
    try {
      device = await openFmapDevice(path, deviceOptions(engine, recoveryDisk));
    } catch (error) {
      throw new Error(`${where}: the device does not open: ${String(error)}`, { cause: error });
    }
    try {
      const stats = device.stats();
      if (stats.leakedBlocks !== 0 || stats.conflictingBlocks !== 0) {
        throw new Error(`${where}: ${stats.leakedBlocks} leaked and ${stats.conflictingBlocks} conflicting blocks`);
      }
      const { sizeSectors } = await device.getInfo();
      const reasons: string[] = [];
      let fits: Candidate | undefined;
      for (const candidate of point.expected) {
        if (candidate.sizeSectors !== sizeSectors) {
          reasons.push(`${candidate.name}: size ${candidate.sizeSectors}, found ${sizeSectors}`);
          continue;
        }
        let why: string | undefined;
        for (let unit = 0; unit * PER_UNIT < sizeSectors && why === undefined; unit++) {
          await device.read(unit * PER_UNIT, [bytes]);
          why = unitMismatch(bytes, unit, candidate);
        }
        if (why === undefined) {
          fits = candidate;
          break;
        }
        reasons.push(`${candidate.name}: ${why}`);
      }
      if (!fits)
        throw new Error(`${where}: the recovered device is neither the last completed flush nor one in flight — ${reasons.join('; ')}`);
      if (fits !== point.expected[0]) tally.recoveredInFlight++;
    } finally {
      await device.disconnect();
    }
  }
}

function shortTrace(seed: number, length: number): Op[] {
  const random = randomFrom(seed);
  const ops: Op[] = [];
  const pick = (n: number) => Math.floor(random() * n);
  for (let i = 0; i < length; i++) {
    const r = random();
    if (r < 0.35) ops.push({ kind: 'write', unit: pick(40) });
    else if (r < 0.55) ops.push({ kind: 'rewrite', pick: pick(1000) });
    else if (r < 0.68) ops.push({ kind: 'discard', unit: pick(40), count: 1 + pick(3), zeroes: random() < 0.5 });
    else if (r < 0.74) ops.push({ kind: 'resize', size: SIZES[pick(SIZES.length)]! });
    else ops.push({ kind: 'flush' });
  }
  ops.splice(
    Math.floor(length / 2),
    0,
    { kind: 'flush', fail: { kind: 'datasync', skip: 1 } },
    { kind: 'discard', unit: 0, count: 40, zeroes: false },
    { kind: 'write', unit: 1 },
  );
  ops.push({ kind: 'flush' });
  return ops;
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.nat(39).map<Op>((unit) => ({ kind: 'write', unit })) },
  { weight: 4, arbitrary: fc.nat(1000).map<Op>((pick) => ({ kind: 'rewrite', pick })) },
  {
    weight: 2,
    arbitrary: fc
      .record({ unit: fc.nat(39), count: fc.integer({ min: 1, max: 4 }), zeroes: fc.boolean() })
      .map<Op>((d) => ({ kind: 'discard', ...d })),
  },
  { weight: 1, arbitrary: fc.constantFrom(...SIZES).map<Op>((size) => ({ kind: 'resize', size })) },
  { weight: 3, arbitrary: fc.constant<Op>({ kind: 'flush' }) },
  {
    weight: 1,
    arbitrary: fc
      .record({ kind: fc.constantFrom<'write' | 'datasync'>('write', 'datasync'), skip: fc.nat(3) })
      .map<Op>((fail) => ({ kind: 'flush', fail })),
  },
);

const EXHAUSTIVE: EnumerationLimits = { exhaustiveUpTo: 6, samples: 24, tearsPerRecord: 2 };
const SAMPLED: EnumerationLimits = { exhaustiveUpTo: 2, samples: 3, tearsPerRecord: 1 };
const SHORT_TRACES = 2;
const LONG_TRACES = 4;
const SEED = Number(process.env.BLK_POWER_SEED ?? Date.now() % 2 ** 31);

describe('fmap device under power loss (simulated disk)', () => {
  closeSync(openSync(path, 'w'));
  for (const engine of ['pread', 'mmap'] as const) {
    it(`[${engine}] every crash point of short traces: each disk state is the last flush or the one in flight (newer data in place allowed)`, async () => {
      const tally: Tally = { points: 0, states: 0, recoveredInFlight: 0 };
      for (let i = 0; i < SHORT_TRACES; i++) {
        const seed = SEED + i;
        for (const point of await runTrace(engine, shortTrace(seed, 40))) await checkPoint(engine, point, EXHAUSTIVE, seed, tally);
      }
      console.log(
        `[device power-loss ${engine}] ${SHORT_TRACES} short traces (seeds ${SEED}..${SEED + SHORT_TRACES - 1}): ${tally.points} crash points, ${tally.states} disk states checked, ${tally.recoveredInFlight} recovered the flush in flight`,
      );
      expect(tally.recoveredInFlight, 'some crash states recover the flush in flight').toBeGreaterThan(0);
    }, 180_000);

    it(`[${engine}] long random traces (fast-check): sampled disk states at every crash point`, async () => {
      const tally: Tally = { points: 0, states: 0, recoveredInFlight: 0 };
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 40, maxLength: 120 }), fc.integer(), async (ops, seed) => {
          for (const point of await runTrace(engine, [...ops, { kind: 'flush' }])) await checkPoint(engine, point, SAMPLED, seed, tally);
        }),
        { numRuns: LONG_TRACES, seed: SEED },
      );
      console.log(
        `[device power-loss ${engine}] ${LONG_TRACES} long traces (fast-check seed ${SEED}): ${tally.points} crash points, ${tally.states} disk states checked`,
      );
    }, 180_000);
  }
});
