import { compare, isBlockError, type BlockDevice } from '@blk/core';
import { pattern, withFaults, withLatency } from '@blk/conformance';
import fc from 'fast-check';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { connect, type Mirror } from '../src/index.js';
import { contents, ramdisk, restrict, seeded } from './helpers/devices.js';

type Where = 'random' | 'first' | 'last' | 'boundary';

interface Op {
  readonly kind: 'write' | 'writeZeroes' | 'discard' | 'flush' | 'read';
  readonly where: Where;
  readonly at: number;
  readonly delta: number;
  readonly count: number;
  readonly seed: number;
  readonly pauseMs: number;
}

interface Scenario {
  readonly primarySS: 512 | 4096;
  readonly secondarySS: 512 | 4096;
  /** Device length in 512-byte units, rounded down to whole mirror sectors. */
  readonly size512: number;
  /** Windows the device is cut into (before jitter), so chunks rarely divide the size. */
  readonly windows: number;
  readonly jitter: number;
  readonly concurrency: number;
  readonly primaryRuns: readonly { at: number; count: number }[];
  readonly staleSecondary: boolean;
  readonly primarySeeks: boolean;
  readonly secondaryZeroes: boolean;
  readonly latencySeed: number;
  readonly writers: readonly (readonly Op[])[];
}

const opArbitrary: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('write', 'write', 'write', 'writeZeroes', 'discard', 'flush', 'read'),
  where: fc.constantFrom<Where>('random', 'first', 'last', 'boundary', 'boundary'),
  at: fc.nat(),
  delta: fc.integer({ min: -3, max: 3 }),
  count: fc.integer({ min: 1, max: 12 }),
  seed: fc.nat(),
  pauseMs: fc.constantFrom(0, 0, 1, 2),
});

const scenarioArbitrary: fc.Arbitrary<Scenario> = fc.record({
  primarySS: fc.constantFrom(512 as const, 4096 as const),
  secondarySS: fc.constantFrom(512 as const, 4096 as const),
  size512: fc.integer({ min: 64, max: 300 }),
  windows: fc.integer({ min: 2, max: 14 }),
  jitter: fc.integer({ min: 0, max: 2 }),
  concurrency: fc.integer({ min: 1, max: 4 }),
  primaryRuns: fc.array(fc.record({ at: fc.nat(), count: fc.integer({ min: 1, max: 40 }) }), { maxLength: 4 }),
  staleSecondary: fc.boolean(),
  primarySeeks: fc.boolean(),
  secondaryZeroes: fc.boolean(),
  latencySeed: fc.integer(),
  writers: fc.array(fc.array(opArbitrary, { minLength: 1, maxLength: 10 }), { minLength: 1, maxLength: 4 }),
});

interface Built {
  readonly primary: BlockDevice;
  readonly secondary: BlockDevice;
  readonly mirrorSS: number;
  readonly sizeM: number;
  readonly chunkM: number;
  /** What the mirror is given: the same devices with latency (and restrictions). */
  readonly slowPrimary: BlockDevice;
  readonly slowSecondary: BlockDevice;
}

async function build(s: Scenario, wrapSecondary: (d: BlockDevice) => BlockDevice = (d) => d): Promise<Built> {
  const mirrorSS = Math.max(s.primarySS, s.secondarySS);
  const sizeM = Math.max(4, Math.floor((s.size512 * 512) / mirrorSS));
  const bytes = sizeM * mirrorSS;
  const chunkM = Math.max(1, Math.ceil(sizeM / s.windows) + s.jitter);
  const primary = ramdisk(bytes, s.primarySS);
  for (const run of s.primaryRuns) {
    const at = run.at % (bytes / s.primarySS);
    const count = Math.min(run.count, bytes / s.primarySS - at);
    await primary.write(at, [pattern(at, count, s.primarySS, 3)]);
  }
  const secondary = ramdisk(bytes, s.secondarySS);
  if (s.staleSecondary) await secondary.write(0, [pattern(0, bytes / s.secondarySS, s.secondarySS, 4)]);
  const random = seeded(s.latencySeed);
  const latency = { maxMs: 1, random };
  const p = s.primarySeeks ? primary : restrict(primary, ['seek', 'sparse']);
  const q = s.secondaryZeroes ? secondary : restrict(secondary, ['discard', 'writeZeroes', 'seek', 'sparse']);
  return {
    primary,
    secondary,
    mirrorSS,
    sizeM,
    chunkM,
    slowPrimary: withLatency(p, latency),
    slowSecondary: wrapSecondary(withLatency(q, latency)),
  };
}

/** Where an op lands, in mirror sectors: first/last sector, near a window boundary, or anywhere. */
function place(op: Op, sizeM: number, chunkM: number): [number, number] {
  const count = Math.min(op.count, sizeM);
  let sector: number;
  switch (op.where) {
    case 'first':
      sector = 0;
      break;
    case 'last':
      sector = sizeM - count;
      break;
    case 'boundary': {
      const boundaries = Math.ceil(sizeM / chunkM) + 1;
      sector = (op.at % boundaries) * chunkM + op.delta;
      break;
    }
    case 'random':
      sector = op.at % sizeM;
  }
  sector = Math.max(0, Math.min(sizeM - 1, sector));
  return [sector, Math.min(count, sizeM - sector)];
}

/** A completed change to mirror sectors [first, first + count), with when it started and ended. */
interface Acknowledged {
  readonly first: number;
  readonly count: number;
  readonly started: number;
  readonly ended: number;
  /** What the sectors hold after it: the written bytes, zeroes, or anything (a discard). */
  readonly bytes: Uint8Array | 'zeroes' | 'anything';
}

/** A logical clock: every start and end of a request takes the next tick, so order is exact. */
interface History {
  clock: number;
  readonly acknowledged: Acknowledged[];
}

async function runWriter(mirror: Mirror, ops: readonly Op[], b: Built, history: History): Promise<void> {
  const record = async (first: number, count: number, bytes: Acknowledged['bytes'], request: Promise<void> | undefined) => {
    if (!request) return;
    const started = ++history.clock;
    await request;
    history.acknowledged.push({ first, count, started, ended: ++history.clock, bytes });
  };
  for (const op of ops) {
    const [sector, count] = place(op, b.sizeM, b.chunkM);
    switch (op.kind) {
      case 'write': {
        const bytes = pattern(sector, count, b.mirrorSS, op.seed);
        await record(sector, count, bytes, mirror.write(sector, [bytes]));
        break;
      }
      case 'writeZeroes':
        await record(sector, count, 'zeroes', mirror.writeZeroes?.(sector, count));
        break;
      case 'discard':
        await record(sector, count, 'anything', mirror.discard?.(sector, count));
        break;
      case 'flush':
        await mirror.flush?.();
        break;
      case 'read':
        await mirror.read(sector, [new Uint8Array(count * b.mirrorSS)]);
        break;
    }
    if (op.pauseMs > 0) await sleep(op.pauseMs);
  }
}

/**
 * The model of acknowledged writes: each sector of `actual` holds what one of the requests that
 * touched it left there, and only a request that no other request touching the sector started
 * after it completed (or the initial contents, when nothing touched it). A completed write that
 * was lost leaves an older value, which this rejects. Returns the first sector that breaks it.
 */
function firstUnexplained(initial: Uint8Array, history: History, actual: Uint8Array, sectorSize: number): number | undefined {
  const sectors = actual.byteLength / sectorSize;
  for (let k = 0; k < sectors; k++) {
    const got = actual.subarray(k * sectorSize, (k + 1) * sectorSize);
    const touching = history.acknowledged.filter((a) => a.first <= k && k < a.first + a.count);
    const candidates = touching.filter((a) => !touching.some((later) => later.started > a.ended));
    const explained =
      touching.length === 0
        ? Buffer.compare(got, initial.subarray(k * sectorSize, (k + 1) * sectorSize)) === 0
        : candidates.some((a) => {
            if (a.bytes === 'anything') return true;
            if (a.bytes === 'zeroes') return got.every((byte) => byte === 0);
            return Buffer.compare(got, a.bytes.subarray((k - a.first) * sectorSize, (k - a.first + 1) * sectorSize)) === 0;
          });
    if (!explained) return k;
  }
  return undefined;
}

describe('no completed write is ever lost on the secondary', () => {
  it('random concurrent writers with random delays on both devices: primary = secondary = a model of the acknowledged writes (property)', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(scenarioArbitrary, async (s) => {
        runs++;
        const b = await build(s);
        const initial = await contents(b.primary);
        const history: History = { clock: 0, acknowledged: [] };
        const mirror = await connect(b.slowPrimary, b.slowSecondary, { chunkBytes: b.chunkM * b.mirrorSS, concurrency: s.concurrency });
        try {
          await Promise.all([mirror.synced, ...s.writers.map((ops) => runWriter(mirror, ops, b, history))]);
          expect(mirror.state).toBe('synced');
          expect(firstUnexplained(initial, history, await contents(b.primary), b.mirrorSS)).toBeUndefined();
          expect(await compare(b.primary, b.secondary)).toBe(0);
          // Still a mirror after the sync: a last write lands on both.
          const [sector, count] = place(s.writers[0]![0]!, b.sizeM, b.chunkM);
          await mirror.write(sector, [pattern(sector, count, b.mirrorSS, 777)]);
          expect(await compare(b.primary, b.secondary)).toBe(0);
        } finally {
          await mirror.disconnect();
        }
      }),
      // Shrinking a failure replays slow runs; the time limit keeps it finite and still fails.
      { numRuns: 200, interruptAfterTimeLimit: 180_000, markInterruptAsFailure: true },
    );
    expect(runs).toBe(200);
  }, 240_000);

  it('a secondary that fails at a random write: every client request still succeeds on the primary, the mirror reports failed (property)', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArbitrary, fc.nat({ max: 20 }), async (s, failAt) => {
        const b = await build(s, (d) => withFaults(d, (c) => c.op === 'write' && c.index === failAt));
        const mirror = await connect(b.slowPrimary, b.slowSecondary, { chunkBytes: b.chunkM * b.mirrorSS, concurrency: s.concurrency });
        try {
          const history: History = { clock: 0, acknowledged: [] };
          const outcome = await Promise.allSettled([mirror.synced, ...s.writers.map((ops) => runWriter(mirror, ops, b, history))]);
          expect(outcome.slice(1).filter((o) => o.status === 'rejected')).toEqual([]);
          const [sync] = outcome;
          if (sync.status === 'rejected') {
            expect(isBlockError(sync.reason, 'IO')).toBe(true);
            expect(mirror.state).toBe('failed');
            expect(mirror.error).toBe(sync.reason);
          } else {
            // Fewer writes than `failAt` reached the secondary before the copy finished, or the
            // fault hit after sync: either the mirror is exact or it says it failed.
            if (mirror.state === 'synced') expect(await compare(b.primary, b.secondary)).toBe(0);
            else expect(mirror.state).toBe('failed');
          }
          expect(Buffer.compare(await contents(mirror), await contents(b.primary))).toBe(0);
        } finally {
          await mirror.disconnect();
        }
      }),
      { numRuns: 60, interruptAfterTimeLimit: 180_000, markInterruptAsFailure: true },
    );
  }, 240_000);
});
