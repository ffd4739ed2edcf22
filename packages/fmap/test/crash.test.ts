import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir, waitFor } from '@blk/test-kit';
import { afterAll, expect, it } from 'vitest';
import { BlockFile } from '../src/index.js';
import { describeEngines } from './helpers/engines.js';
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

/** Runs the child, kills it with SIGKILL `delayMs` after it is ready; returns what it printed. */
async function runAndKill(path: string, engine: string, seed: number, delayMs: number): Promise<string[]> {
  const proc = spawn(process.execPath, [child, path, engine, String(seed), 'open'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
  });
  try {
    await waitFor(() => out.startsWith('R\n') || proc.exitCode !== null, 'the crash child to start', 20_000);
    await new Promise((r) => setTimeout(r, delayMs));
  } finally {
    proc.kill('SIGKILL');
  }
  const { code, signal } = await exited;
  expect(err, `child stderr (exit ${code ?? signal})`).toBe('');
  expect(signal).toBe('SIGKILL');
  return out.split('\n').filter((line) => line.length > 0);
}

describeEngines('BlockFile killed with SIGKILL', ({ name }) => {
  it.runIf(built)(`recovers the last flushed state after ${KILLS} kills at random points`, async () => {
    const path = join(temp.path, `crash-${name}.fmap`);
    BlockFile.create(path, { blockSize: 4096, engine: name, lock: false }).close();
    let committed = sorted(recover(path, name));
    let flushesSeen = 0;
    for (let round = 0; round < KILLS; round++) {
      const lines = await runAndKill(path, name, 1000 * round + 7, 5 + ((round * 37) % 90));
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
