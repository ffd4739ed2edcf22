import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { itWhen, makeTempDir } from '@blk/test-kit';
import { afterAll, expect } from 'vitest';
import { BlockFile } from '../src/index.js';
import { distMissing } from './helpers/missing.js';
import { describeEngines } from './helpers/engines.js';
import { killLoop, readFlushLog } from './helpers/kill-loop.js';
import { readStamp } from './helpers/model.js';

/*
 * The real-process check beside the power-loss model (power-loss.test.ts): a child works on a
 * BlockFile and is killed with SIGKILL at a seeded random moment; everything it wrote is in the
 * page cache, so the file must open as the last flush that returned or the one in flight.
 * BLK_CRASH_SEED replays a schedule, BLK_CRASH_KILLS changes the number of kills.
 */

const temp = makeTempDir('blk-fmap-crash-');
afterAll(() => temp.remove());
const child = fileURLToPath(new URL('fixtures/crash-child.mjs', import.meta.url));
const KILLS = Number(process.env.BLK_CRASH_KILLS ?? 200);
const SEED = Number(process.env.BLK_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const LANES = 3;
/** Each child is killed 0–MAX_DELAY_MS ms after its 0th–MAX_FLUSHES-th completed flush (seeded). */
const MAX_DELAY_MS = 30;
const MAX_FLUSHES = 3;

interface State {
  readonly control: string;
  readonly allocated: [number, number][];
}

function recover(path: string, engine: 'pread' | 'mmap'): State {
  const file = BlockFile.open(path, { engine, lock: false });
  try {
    const stats = file.stats();
    const owner = new Set<number>();
    for (const offset of [...stats.free, ...stats.freeListPages]) {
      expect(owner.has(offset), `block ${offset} listed twice`).toBe(false);
      owner.add(offset);
    }
    const allocated: [number, number][] = [];
    for (let at = stats.firstBlock; at < stats.size; at += stats.blockSize) {
      if (owner.has(at)) continue;
      const [head, tail] = readStamp(file, at);
      expect(tail, `block ${at} is torn`).toBe(head);
      allocated.push([at, head]);
    }
    return { control: Buffer.from(file.controlData()).toString('hex'), allocated };
  } finally {
    file.close();
  }
}

const key = (state: State) => JSON.stringify({ control: state.control, allocated: [...state.allocated].sort((a, b) => a[0] - b[0]) });

describeEngines('BlockFile killed with SIGKILL', ({ name }) => {
  itWhen(distMissing)(
    `recovers the last flushed state after ${KILLS} kills at seeded random points, some inside a flush`,
    async () => {
      const seed = SEED + (name === 'mmap' ? 1 : 0);
      const paths = Array.from({ length: LANES }, (_, lane) => join(temp.path, `crash-${name}-${lane}.fmap`));
      const committed: State[] = [];
      for (const path of paths) {
        BlockFile.create(path, { blockSize: 4096, engine: name, lock: false }).close();
        committed.push(recover(path, name));
      }
      let flushes = 0;
      let insideFlush = 0;
      let recoveredInFlight = 0;
      await killLoop({
        script: child,
        kills: KILLS,
        seed,
        lanes: LANES,
        maxDelayMs: MAX_DELAY_MS,
        maxFlushes: MAX_FLUSHES,
        log: (lane) => join(temp.path, `crash-${name}-${lane}.log`),
        job: (lane, jobSeed, log) => ({ path: paths[lane], engine: name, seed: jobSeed, log, ...committed[lane]! }),
        check: ({ lane, lines }) => {
          const { last, inFlight, completed } = readFlushLog(lines, key(committed[lane]!), (json) => key(JSON.parse(json) as State));
          flushes += completed;
          const state = recover(paths[lane]!, name);
          const recovered = key(state);
          if (inFlight !== undefined) insideFlush++;
          if (recovered !== last && recovered !== inFlight) {
            throw new Error(
              `recovered state is neither the last flush nor the one in flight (${inFlight === undefined ? 'none' : 'one'} in flight)`,
            );
          }
          if (inFlight !== undefined && recovered === inFlight) recoveredInFlight++;
          committed[lane] = state;
        },
      });
      console.log(
        `[crash ${name}] seed ${seed}: ${KILLS} kills, ${insideFlush} inside a flush (${recoveredInFlight} of them after its header landed), ${flushes} flushes completed`,
      );
      expect(insideFlush, `seed ${seed}: no kill landed inside a flush`).toBeGreaterThan(0);
      expect(flushes, `seed ${seed}: the children completed flushes`).toBeGreaterThan(0);
    },
    600_000,
  );
});
