import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { itWhen, makeTempDir } from '@blk/test-kit';
import { afterAll, expect } from 'vitest';
import { openFmapDevice } from '../src/index.js';
import { distMissing } from './helpers/missing.js';
import { describeEngines } from './helpers/engines.js';
import { killLoop, readFlushLog } from './helpers/kill-loop.js';

const temp = makeTempDir('blk-fmap-device-crash-');
afterAll(() => temp.remove());
const child = fileURLToPath(new URL('fixtures/fmap-device-crash-child.mjs', import.meta.url));
const KILLS = Number(process.env.BLK_CRASH_DEVICE_KILLS ?? 50);
const SEED = Number(process.env.BLK_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const LANES = 3;
/** Each child is killed 0–MAX_DELAY_MS ms after its 0th–MAX_FLUSHES-th completed flush (seeded). */
const MAX_DELAY_MS = 30;
const MAX_FLUSHES = 3;
const SECTOR = 512;
const UNIT = 4096;
const PER_UNIT = UNIT / SECTOR;

interface State {
  readonly size: number;
  readonly versions: Map<number, number>;
}

/**
 * Reads the device back: every unit must be all zero or stamped whole (each sector naming this
 * unit, one version, its own index) — never torn, never another unit's data.
 */
async function recover(path: string, engine: 'pread' | 'mmap'): Promise<State> {
  const device = await openFmapDevice(path, { engine, lock: false });
  try {
    const stats = device.stats();
    expect(stats.leakedBlocks, 'blocks neither free nor mapped').toBe(0);
    expect(stats.conflictingBlocks, 'blocks mapped twice or free').toBe(0);
    const size = (await device.getInfo()).sizeSectors;
    const versions = new Map<number, number>();
    const bytes = new Uint8Array(UNIT);
    const view = new DataView(bytes.buffer);
    for (let unit = 0; unit * PER_UNIT < size; unit++) {
      await device.read(unit * PER_UNIT, [bytes]);
      if (bytes.every((b) => b === 0)) continue;
      const version = view.getUint32(4, true);
      for (let s = 0; s < PER_UNIT; s++) {
        const at = s * SECTOR;
        const fill = (unit * 7 + version + s) & 0xff;
        const whole =
          view.getUint32(at, true) === unit &&
          view.getUint32(at + 4, true) === version &&
          view.getUint32(at + 8, true) === s &&
          view.getUint32(at + 12, true) === 0xb1c0ffee &&
          bytes.subarray(at + 16, at + SECTOR).every((b) => b === fill);
        expect(whole, `unit ${unit} sector ${s} is torn or holds another unit's data`).toBe(true);
      }
      versions.set(unit, version);
    }
    return { size, versions };
  } finally {
    await device.disconnect();
  }
}

/** The recovered state is `flushed`, except that units mapped then may hold newer versions (rewritten in place). */
function matches(recovered: State, flushed: State): boolean {
  if (recovered.size !== flushed.size) return false;
  for (const [unit, version] of recovered.versions) {
    const committed = flushed.versions.get(unit);
    if (committed === undefined || version < committed) return false;
  }
  return [...flushed.versions.keys()].every((unit) => recovered.versions.has(unit));
}

describeEngines('fmap device killed with SIGKILL', ({ name }) => {
  itWhen(distMissing)(
    `comes back as the last flush (or newer data in place) after ${KILLS} kills at seeded random points, some inside a flush`,
    async () => {
      const seed = SEED + (name === 'mmap' ? 3 : 2);
      const paths = Array.from({ length: LANES }, (_, lane) => join(temp.path, `crash-${name}-${lane}.fmap`));
      const committed: State[] = [];
      for (const path of paths) {
        await (await openFmapDevice(path, { create: { sizeSectors: 64 * PER_UNIT, blockSize: UNIT }, lock: false })).disconnect();
        committed.push(await recover(path, name));
      }
      let flushes = 0;
      let insideFlush = 0;
      let newerInPlace = 0;
      await killLoop({
        script: child,
        kills: KILLS,
        seed,
        lanes: LANES,
        maxDelayMs: MAX_DELAY_MS,
        maxFlushes: MAX_FLUSHES,
        log: (lane) => join(temp.path, `crash-${name}-${lane}.log`),
        job: (lane, jobSeed, log) => ({
          path: paths[lane],
          engine: name,
          seed: jobSeed,
          log,
          size: committed[lane]!.size,
          versions: [...committed[lane]!.versions],
        }),
        check: async ({ lane, lines }) => {
          const { last, inFlight, completed } = readFlushLog(lines, committed[lane]!, (json): State => {
            const parsed = JSON.parse(json) as { size: number; versions: [number, number][] };
            return { size: parsed.size, versions: new Map(parsed.versions) };
          });
          flushes += completed;
          if (inFlight) insideFlush++;
          const recovered = await recover(paths[lane]!, name);
          const match = (inFlight ? [last, inFlight] : [last]).find((c) => matches(recovered, c));
          if (!match) throw new Error('recovered state is neither the last flush nor the one in flight, even allowing newer data in place');
          if ([...recovered.versions].some(([unit, v]) => v !== match.versions.get(unit))) newerInPlace++;
          committed[lane] = recovered;
        },
      });
      console.log(
        `[device crash ${name}] seed ${seed}: ${KILLS} kills, ${insideFlush} inside a flush, ${flushes} flushes completed, ${newerInPlace} recoveries showed newer data in place`,
      );
      expect(insideFlush, `seed ${seed}: no kill landed inside a flush`).toBeGreaterThan(0);
      expect(flushes, `seed ${seed}: the children completed flushes`).toBeGreaterThan(0);
    },
    600_000,
  );
});
