import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '@blk/test-kit';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { BlockFile, isFmapError, type BlockFileOptions } from '../src/index.js';
import { readStamp, writeStamp } from './helpers/model.js';
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
 * The power-loss model for BlockFile: a trace of random operations runs on a SimDisk, which
 * records every write and sync (and, under the mmap engine, every page the mapping dirtied); at
 * each crash point every disk state a real disk may keep (see SimDisk and diskChoices) is opened
 * again, and must be the last flush that returned or one that was in flight — never anything
 * else, never a lost flush, never a file that fails to open.
 */

const temp = makeTempDir('blk-fmap-power-');
afterAll(() => temp.remove());
// BlockFile opens a real path; all of its bytes live in the SimDisk given as its io.
const path = join(temp.path, 'sim.fmap');
closeSync(openSync(path, 'w'));

type Engine = 'pread' | 'mmap';

/** What a commit holds: allocated block → stamp, and the control data. */
interface State {
  readonly allocated: ReadonlyMap<number, number>;
  readonly control: string;
}

interface Expected {
  readonly completed: State;
  /** Flushes in flight, or failed after their header write began (each may have landed). */
  readonly inFlight: readonly State[];
}

type Op =
  | { readonly kind: 'alloc' }
  | { readonly kind: 'allocRun'; readonly n: number }
  | { readonly kind: 'free'; readonly pick: number }
  | { readonly kind: 'control'; readonly bytes: number; readonly fill: number }
  | { readonly kind: 'sync' }
  | { readonly kind: 'flush'; readonly fail?: { readonly kind: 'write' | 'datasync'; readonly skip: number } };

function options(engine: Engine, disk: SimDisk<Expected>): BlockFileOptions {
  return engine === 'mmap'
    ? { engine, lock: false, io: disk, native: disk.native }
    : { engine, lock: false, io: disk, cacheBytes: 16 * 4096 };
}

const stateKey = (state: State) => `${state.control}|${[...state.allocated].sort((a, b) => a[0] - b[0]).join(';')}`;

/** Runs `ops` on a new BlockFile over a SimDisk, handing every crash point after create to `onPoint`. */
function runTrace(engine: Engine, ops: readonly Op[], onPoint: (point: CrashPoint<Expected>) => void): void {
  const disk = new SimDisk<Expected>();
  const file = BlockFile.create(path, { blockSize: 4096, ...options(engine, disk) });
  const live = new Map<number, number>();
  let control = new Uint8Array(0);
  let stamp = 1;
  let completed: State = { allocated: new Map(), control: '' };
  let inFlight: State[] = [];
  const now = (): State => ({ allocated: new Map(live), control: Buffer.from(control).toString('hex') });
  disk.expected = () => ({ completed, inFlight });
  disk.onCrashPoint = onPoint;
  const stampNew = (offset: number) => {
    writeStamp(file, offset, stamp);
    live.set(offset, stamp++);
  };
  for (const op of ops) {
    switch (op.kind) {
      case 'alloc':
        if (live.size < 48) stampNew(file.allocate());
        break;
      case 'allocRun': {
        const first = file.allocateBlocks(op.n);
        for (let i = 0; i < op.n; i++) stampNew(first + i * 4096);
        break;
      }
      case 'free': {
        const offsets = [...live.keys()];
        if (offsets.length === 0) break;
        const victim = offsets[op.pick % offsets.length]!;
        file.free(victim);
        live.delete(victim);
        break;
      }
      case 'control':
        control = new Uint8Array(op.bytes).fill(op.fill);
        file.setControlDataNoSync(control);
        break;
      case 'sync':
        file.sync();
        break;
      case 'flush': {
        const state = now();
        const before = inFlight;
        inFlight = [...inFlight, state];
        const headerWrites = disk.headerWrites;
        disk.failAt = op.fail;
        try {
          file.flush();
          completed = state;
          inFlight = [];
        } catch (error) {
          // only the injected EIO is expected (a failed check inside the io must not pass as one)
          if (!op.fail || !isFmapError(error, 'E_IO') || !(error.cause instanceof InjectedEio)) throw error;
          // A commit whose header was never written cannot be what a crash leaves.
          if (disk.headerWrites === headerWrites) inFlight = before;
        }
        disk.failAt = undefined;
        break;
      }
    }
    disk.observe(op.kind);
  }
  file.close({ commit: false });
}

/** Opens the disk state and reads what it holds: allocated blocks (each stamped whole) and control data. */
const recoveryDisk = new SimDisk<Expected>();
const images = new ImageBuilder();

function recover(engine: Engine, image: Uint8Array): State {
  const disk = recoveryDisk;
  disk.reset(image);
  const file = BlockFile.open(path, options(engine, disk));
  try {
    const stats = file.stats();
    const owned = new Set<number>();
    for (const offset of [...stats.free, ...stats.freeListPages]) {
      if (owned.has(offset)) throw new Error(`block ${offset} is listed twice`);
      owned.add(offset);
    }
    const allocated = new Map<number, number>();
    for (let at = stats.firstBlock; at < stats.size; at += stats.blockSize) {
      if (owned.has(at)) continue;
      const [head, tail] = readStamp(file, at);
      allocated.set(at, head === tail ? head : -1);
    }
    return { allocated, control: Buffer.from(file.controlData()).toString('hex') };
  } finally {
    file.close({ commit: false });
  }
}

interface Tally {
  points: number;
  states: number;
  recoveredInFlight: number;
}

/** Checks every disk state of a crash point; throws naming the point and the state on the first wrong one. */
function checkPoint(engine: Engine, point: CrashPoint<Expected>, limits: EnumerationLimits, seed: number, tally: Tally): void {
  tally.points++;
  const random = randomFrom(seed ^ (point.index * 0x9e3779b1));
  const { completed, inFlight } = point.expected;
  const allowed = new Map([[stateKey(completed), 'completed'], ...inFlight.map((s, i) => [stateKey(s), `in flight #${i}`] as const)]);
  for (const choice of diskChoices(point.unsynced, limits, random)) {
    tally.states++;
    const where = `[${engine}] seed ${seed}, crash point ${point.index} (after ${point.after}; ${point.unsynced.length} unsynced records), disk state: ${choice.what}`;
    let recovered: State;
    try {
      recovered = recover(engine, images.build(point, choice));
    } catch (error) {
      throw new Error(`${where}: the file does not open: ${String(error)}`, { cause: error });
    }
    const matched = allowed.get(stateKey(recovered));
    if (matched === undefined) {
      const describe = (s: State) => `control ${s.control.slice(0, 16)}…, ${s.allocated.size} blocks`;
      throw new Error(
        `${where}: recovered ${describe(recovered)} is neither the last completed flush (${describe(completed)}) nor one in flight (${inFlight.map(describe).join(', ') || 'none'})`,
      );
    }
    if (matched !== 'completed') tally.recoveredInFlight++;
  }
}

/** A short trace from a seed: a few dozen operations, flushes (one failing after its header write) among them. */
function shortTrace(seed: number, length: number): Op[] {
  const random = randomFrom(seed);
  const ops: Op[] = [];
  for (let i = 0; i < length; i++) {
    const r = random();
    if (r < 0.34) ops.push({ kind: 'alloc' });
    else if (r < 0.42) ops.push({ kind: 'allocRun', n: 1 + Math.floor(random() * 3) });
    else if (r < 0.64) ops.push({ kind: 'free', pick: Math.floor(random() * 1000) });
    else if (r < 0.72) ops.push({ kind: 'control', bytes: Math.floor(random() * 200), fill: 1 + Math.floor(random() * 255) });
    else if (r < 0.78) ops.push({ kind: 'sync' });
    else ops.push({ kind: 'flush' });
  }
  // the failure after the header write (point 3 of issue 12), with work after it
  ops.splice(
    Math.floor(length / 2),
    0,
    { kind: 'flush', fail: { kind: 'datasync', skip: 1 } },
    { kind: 'free', pick: 0 },
    { kind: 'alloc' },
  );
  ops.push({ kind: 'flush' });
  return ops;
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.constant<Op>({ kind: 'alloc' }) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 4 }).map<Op>((n) => ({ kind: 'allocRun', n })) },
  { weight: 5, arbitrary: fc.nat(1000).map<Op>((pick) => ({ kind: 'free', pick })) },
  {
    weight: 2,
    arbitrary: fc.record({ bytes: fc.nat(4032), fill: fc.integer({ min: 1, max: 255 }) }).map<Op>((c) => ({ kind: 'control', ...c })),
  },
  { weight: 1, arbitrary: fc.constant<Op>({ kind: 'sync' }) },
  { weight: 3, arbitrary: fc.constant<Op>({ kind: 'flush' }) },
  {
    weight: 1,
    arbitrary: fc
      .record({ kind: fc.constantFrom<'write' | 'datasync'>('write', 'datasync'), skip: fc.nat(3) })
      .map<Op>((fail) => ({ kind: 'flush', fail })),
  },
);

const EXHAUSTIVE: EnumerationLimits = { exhaustiveUpTo: 8, samples: 48, tearsPerRecord: 3 };
const SAMPLED: EnumerationLimits = { exhaustiveUpTo: 3, samples: 6, tearsPerRecord: 1 };
const SHORT_TRACES = 5;
const LONG_TRACES = 8;
const SEED = Number(process.env.BLK_POWER_SEED ?? Date.now() % 2 ** 31);

describe('BlockFile under power loss (simulated disk)', () => {
  for (const engine of ['pread', 'mmap'] as const) {
    it(`[${engine}] every crash point of short traces: each disk state recovers the last flush or the one in flight`, () => {
      const tally: Tally = { points: 0, states: 0, recoveredInFlight: 0 };
      let flushes = 0;
      for (let i = 0; i < SHORT_TRACES; i++) {
        const seed = SEED + i;
        const ops = shortTrace(seed, 48);
        flushes += ops.filter((op) => op.kind === 'flush').length;
        runTrace(engine, ops, (point) => {
          checkPoint(engine, point, EXHAUSTIVE, seed, tally);
        });
      }
      console.log(
        `[power-loss ${engine}] ${SHORT_TRACES} short traces (seeds ${SEED}..${SEED + SHORT_TRACES - 1}, ${flushes} flushes): ${tally.points} crash points, ${tally.states} disk states checked, ${tally.recoveredInFlight} recovered the flush in flight`,
      );
      expect(tally.recoveredInFlight, 'some crash states recover the flush in flight').toBeGreaterThan(0);
      expect(tally.states).toBeGreaterThan(tally.points);
    }, 120_000);

    it(`[${engine}] long random traces (fast-check): sampled disk states at every crash point`, () => {
      const tally: Tally = { points: 0, states: 0, recoveredInFlight: 0 };
      fc.assert(
        fc.property(fc.array(opArb, { minLength: 60, maxLength: 240 }), fc.integer(), (ops, seed) => {
          runTrace(engine, [...ops, { kind: 'flush' }], (point) => {
            checkPoint(engine, point, SAMPLED, seed, tally);
          });
        }),
        { numRuns: LONG_TRACES, seed: SEED },
      );
      console.log(
        `[power-loss ${engine}] ${LONG_TRACES} long traces (fast-check seed ${SEED}): ${tally.points} crash points, ${tally.states} disk states checked`,
      );
    }, 120_000);
  }
});
