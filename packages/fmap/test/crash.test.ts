import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir } from '@blk/test-kit';
import { afterAll, expect, it } from 'vitest';
import { BlockFile } from '../src/index.js';
import { describeEngines } from './helpers/engines.js';
import { runAndKill } from './helpers/kill-child.js';
import { readStamp } from './helpers/model.js';

const temp = makeTempDir('blk-fmap-crash-');
afterAll(() => temp.remove());
const child = fileURLToPath(new URL('fixtures/crash-child.mjs', import.meta.url));
const built = existsSync(fileURLToPath(new URL('../dist/index.js', import.meta.url)));
const KILLS = 25;

interface State {
  readonly size: number;
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
    return { size: stats.size, control: Buffer.from(file.controlData()).toString('hex'), allocated };
  } finally {
    file.close();
  }
}

const content = (state: State) => ({ control: state.control, allocated: state.allocated });
const sorted = (state: State) => ({ ...state, allocated: [...state.allocated].sort((a, b) => a[0] - b[0]) });

describeEngines('BlockFile killed with SIGKILL', ({ name }) => {
  it.runIf(built)(`recovers the last flushed state after ${KILLS} kills at random points`, async () => {
    const path = join(temp.path, `crash-${name}.fmap`);
    BlockFile.create(path, { blockSize: 4096, engine: name, lock: false }).close();
    let committed = sorted(recover(path, name));
    let flushesSeen = 0;
    for (let round = 0; round < KILLS; round++) {
      const lines = await runAndKill(child, [path, name, String(1000 * round + 7), 'open'], 5 + ((round * 37) % 90));
      let inFlight: State | undefined;
      for (const line of lines) {
        if (line.startsWith('F ')) inFlight = sorted(JSON.parse(line.slice(2)) as State);
        else if (line === 'C' && inFlight) {
          committed = inFlight;
          inFlight = undefined;
          flushesSeen++;
        }
      }
      const recovered = sorted(recover(path, name));
      const candidates = inFlight ? [committed, inFlight] : [committed];
      // A flush may grow the file for its own free-list pages, so sizes only bound from below.
      const match = candidates.find((c) => recovered.size >= c.size && JSON.stringify(content(c)) === JSON.stringify(content(recovered)));
      expect(match, `round ${round}: recovered state is neither the last flush nor the one in flight`).toBeDefined();
      committed = recovered;
    }
    // the kills landed after real work: flushes completed across the rounds
    expect(flushesSeen).toBeGreaterThan(KILLS);
  });
});
