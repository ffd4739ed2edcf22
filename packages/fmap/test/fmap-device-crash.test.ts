import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir } from '@blk/test-kit';
import { afterAll, expect, it } from 'vitest';
import { openFmapDevice } from '../src/index.js';
import { describeEngines } from './helpers/engines.js';
import { runAndKill } from './helpers/kill-child.js';

const temp = makeTempDir('blk-fmap-device-crash-');
afterAll(() => temp.remove());
const child = fileURLToPath(new URL('fixtures/fmap-device-crash-child.mjs', import.meta.url));
const built = existsSync(fileURLToPath(new URL('../dist/index.js', import.meta.url)));
const KILLS = 20;
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
  it.runIf(built)(`comes back as the last flush (or newer data in place) after ${KILLS} kills at random points`, async () => {
    const path = join(temp.path, `crash-${name}.fmap`);
    await (await openFmapDevice(path, { create: { sizeSectors: 64 * PER_UNIT, blockSize: UNIT }, lock: false })).disconnect();
    let committed = await recover(path, name);
    let flushesSeen = 0;
    let newerInPlace = 0;
    for (let round = 0; round < KILLS; round++) {
      const lines = await runAndKill(child, [path, name, String(1000 * round + 11)], 5 + ((round * 37) % 90));
      let inFlight: State | undefined;
      for (const line of lines) {
        if (line.startsWith('F ')) {
          const parsed = JSON.parse(line.slice(2)) as { size: number; versions: [number, number][] };
          inFlight = { size: parsed.size, versions: new Map(parsed.versions) };
        } else if (line === 'C' && inFlight) {
          committed = inFlight;
          inFlight = undefined;
          flushesSeen++;
        }
      }
      const recovered = await recover(path, name);
      const candidates = inFlight ? [committed, inFlight] : [committed];
      const match = candidates.find((c) => matches(recovered, c));
      expect(match, `round ${round}: recovered state is neither the last flush nor the one in flight, even allowing newer data in place`).toBeDefined();
      if ([...recovered.versions].some(([unit, v]) => v !== match!.versions.get(unit))) newerInPlace++;
      committed = recovered;
    }
    // the kills landed after real work: flushes completed across the rounds
    expect(flushesSeen).toBeGreaterThan(KILLS);
    console.log(`[${name}] ${flushesSeen} flushes, ${newerInPlace} of ${KILLS} recoveries showed newer data in place`);
  });
});
