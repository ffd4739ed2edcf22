import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '@blk/test-kit';
import { blk } from './helpers/blk.js';
import { startServe } from './helpers/serve.js';

interface Figures {
  name: string;
  blockBytes: number;
  depth: number;
  write: boolean;
  random: boolean;
  ops: number;
  iops: number;
  bytesPerSecond: number;
  latencyNs: Record<'min' | 'mean' | 'p50' | 'p90' | 'p99' | 'p999' | 'max', number>;
}
interface Report {
  spec: string;
  sizeBytes: number;
  sectorSize: number;
  spanBytes: number;
  workloads: Figures[];
}

async function benchJson(args: readonly string[]): Promise<Report> {
  const r = await blk(['bench', ...args, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Report;
}

function expectSane(w: Figures): void {
  expect(w.ops).toBeGreaterThan(0);
  expect(w.iops).toBeGreaterThan(0);
  expect(w.bytesPerSecond).toBeCloseTo(w.iops * w.blockBytes, -3);
  const l = w.latencyNs;
  const ordered = [l.min, l.p50, l.p90, l.p99, l.p999, l.max];
  expect([...ordered].sort((a, b) => a - b)).toEqual(ordered);
  expect(l.mean).toBeGreaterThanOrEqual(l.min);
  expect(l.mean).toBeLessThanOrEqual(l.max);
}

describe('blk bench SPEC', () => {
  let dir: { path: string; remove(): void };
  beforeAll(() => {
    dir = makeTempDir('blk-cli-bench-');
  });
  afterAll(() => dir.remove());

  it('runs the six standard workloads on a ram: device (throwaway, so writes too)', async () => {
    const report = await benchJson(['ram:16MiB', '--requests', '64']);
    expect(report).toMatchObject({ spec: 'ram:16MiB', sizeBytes: 16 << 20, sectorSize: 512, spanBytes: 16 << 20 });
    expect(report.workloads.map((w) => [w.name, w.blockBytes, w.depth, w.write, w.random])).toEqual([
      ['seq-write', 1 << 20, 4, true, false],
      ['seq-read', 1 << 20, 4, false, false],
      ['rand-write', 4096, 32, true, true],
      ['rand-read', 4096, 32, false, true],
      ['rand-write-qd1', 4096, 1, true, true],
      ['rand-read-qd1', 4096, 1, false, true],
    ]);
    for (const w of report.workloads) {
      expect(w.ops).toBe(64); // --requests bounds each workload exactly
      expectSane(w);
    }
  });

  it('prints a table: a header line, the column names, one row per workload', async () => {
    const r = await blk(['bench', 'mem:8MiB', '--workload', 'rand-read', '--workload', 'seq-read', '--requests', '32']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('blk bench: mem:8MiB: 8.00 MiB in 512-byte sectors, all of it; 2 s or 32 requests per workload');
    expect(lines[1]).toMatch(/^workload +block +depth +IOPS +bandwidth +p50 +p90 +p99 +p99\.9 +max$/);
    expect(lines[2]).toMatch(/^seq-read +1 MiB +4 +\S+ +\S+ \S*B\/s( +[\d.]+ (ns|µs|ms|s)){5}$/);
    expect(lines[3]).toMatch(/^rand-read +4 KiB +32 +/);
    expect(lines).toHaveLength(4);
  });

  it('on a file: runs the reads only, refuses a write workload without --write, and writes with it', async () => {
    const path = join(dir.path, 'disk.img');
    writeFileSync(path, Buffer.alloc(4 << 20));
    const reads = await benchJson([`file:${path}`, '--requests', '16']);
    expect(reads.workloads.map((w) => w.name)).toEqual(['seq-read', 'rand-read', 'rand-read-qd1']);
    expect(readFileSync(path).every((b) => b === 0)).toBe(true);

    const refused = await blk(['bench', `file:${path}`, '--workload', 'seq-write']);
    expect(refused.code).toBe(2);
    expect(refused.stderr.split('\n')[0]).toBe(`blk: bench: seq-write would overwrite data on file:${path}; add --write if that is fine`);

    const written = await benchJson([
      `file:${path}`,
      '--write',
      '--workload',
      'seq-write',
      '--requests',
      '4',
      '--block-size',
      '64K',
      '--depth',
      '1',
    ]);
    expect(written.workloads[0]).toMatchObject({ name: 'seq-write', blockBytes: 65536, depth: 1, ops: 4 });
    const data = readFileSync(path);
    expect(data.subarray(0, 4 * 65536).every((b) => b !== 0)).toBe(true);
    expect(data.subarray(4 * 65536).every((b) => b === 0)).toBe(true);
  });

  it('--span keeps every request inside the first SIZE bytes', async () => {
    const path = join(dir.path, 'span.img');
    writeFileSync(path, Buffer.alloc(2 << 20));
    await benchJson([`file:${path}`, '--write', '--span', '64K', '--workload', 'rand-write', '--requests', '200']);
    const data = readFileSync(path);
    expect(data.subarray(0, 65536).some((b) => b !== 0)).toBe(true);
    expect(data.subarray(65536).every((b) => b === 0)).toBe(true);
  });

  it('measures an NBD export that blk serve exports', async () => {
    const server = await startServe(['ram:32MiB', '--port', '0']);
    try {
      const report = await benchJson([server.uris[0]!, '--workload', 'rand-read', '--workload', 'seq-read', '--requests', '100']);
      expect(report.workloads.map((w) => [w.name, w.ops])).toEqual([
        ['seq-read', 100],
        ['rand-read', 100],
      ]);
      for (const w of report.workloads) expectSane(w);
    } finally {
      await server.process.stop();
    }
  });

  it.each([
    [['bench'], 'blk: bench: missing SPEC'],
    [
      ['bench', 'ram:1M', '--workload', 'nope'],
      'blk: bench: --workload nope: unknown (workloads: seq-write, seq-read, rand-write, rand-read, rand-write-qd1, rand-read-qd1)',
    ],
    [['bench', 'ram:1M', '--depth', '0'], 'blk: bench: --depth 0: expected a whole number from 1 to 1024'],
    [['bench', 'ram:1M', '--depth', '1.5'], 'blk: bench: --depth 1.5: expected a whole number from 1 to 1024'],
    [['bench', 'ram:1M', '--time', '0'], 'blk: bench: --time 0: expected a number above 0 to 3600'],
    [['bench', 'ram:1M', '--requests', 'x'], 'blk: bench: --requests x: expected a whole number from 1 to 9007199254740991'],
    [['bench', 'ram:1M', '--block-size', '3000'], 'blk: bench: seq-write: a block of 3000 bytes is not a whole number of 512-byte sectors'],
    [['bench', 'ram:1M', '--span', '4K'], 'blk: bench: seq-write: a block of 1.00 MiB does not fit in the 4.00 KiB benchmarked'],
  ])('%j is a usage error: %s', async (args, message) => {
    const r = await blk(args);
    expect(r.stderr.split('\n')[0]).toBe(message);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
  });
});
