import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, run, type RunResult } from '../src/index.js';

const TEST_KIT = pathToFileURL(join(import.meta.dirname, '../dist/index.js')).href;
const SCRIPT = join(import.meta.dirname, '../../../scripts/bench-table.mjs');

/** The root `pnpm bench` script, which reads what reportBench writes. */
function benchTable(args: readonly string[], options: { cwd?: string } = {}): Promise<RunResult> {
  return run(process.execPath, [SCRIPT, ...args], { timeoutMs: 60_000, ...options });
}

/**
 * A workspace of its own: one package measures two small things with test-kit's `rate` and
 * reports them with the real `reportBench` (one figure's target always met, one never), one bench
 * script fails, one reports nothing, one package has no bench script.
 */
function makeWorkspace(root: string): void {
  writeFileSync(join(root, 'pnpm-workspace.yaml'), 'packages:\n  - packages/*\n');
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'fixture-root', private: true }));
  const pkg = (dir: string, name: string, scripts: Record<string, string>, files: Record<string, string> = {}) => {
    const path = join(root, 'packages', dir);
    mkdirSync(path, { recursive: true });
    writeFileSync(join(path, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, scripts }));
    for (const [file, text] of Object.entries(files)) writeFileSync(join(path, file), text);
  };
  pkg(
    'measured',
    '@fixture/measured',
    { bench: 'node bench.mjs' },
    {
      'bench.mjs': `
import { rate, reportBench } from ${JSON.stringify(TEST_KIT)};
const a = Buffer.alloc(1 << 16);
const b = Buffer.alloc(1 << 16);
const fill = await rate(() => a.fill(7), a.length, 50);
const copy = await rate(() => a.copy(b), a.length, 50);
console.log('measured: own output');
reportBench('@fixture/measured', [
  { name: 'fill 64 KiB', unit: 'B/s', value: fill, anchor: 'Buffer.copy', anchorValue: copy, higherIsBetter: true, target: 0 },
  { name: 'fill 64 KiB, impossible goal', unit: 'B/s', value: fill, anchor: 'Buffer.copy', anchorValue: copy, higherIsBetter: true, target: 1e12 },
]);
`,
    },
  );
  pkg('broken', '@fixture/broken', { bench: 'node -e "process.exit(3)"' });
  pkg('silent', '@fixture/silent', { bench: 'node -e "0"' });
  pkg('plain', '@fixture/plain', { test: 'true' });
}

describe('scripts/bench-table.mjs', () => {
  let dir: { path: string; remove(): void };
  beforeAll(() => {
    dir = makeTempDir('blk-bench-table-');
    makeWorkspace(dir.path);
  });
  afterAll(() => dir.remove());

  it("runs one package's bench script with BLK_BENCH_JSON and prints the combined table", async () => {
    const rows = join(dir.path, 'rows.jsonl');
    const r = await benchTable(['--filter', 'measured', '--root', dir.path, '--json', rows]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^package +benchmark +median +anchor +anchor median +ratio +target$/);
    expect(lines[2]).toMatch(/^@fixture\/measured +fill 64 KiB +\S+ B\/s +Buffer\.copy +\S+ B\/s +\d+\.\d\d× +≥ 0 ok$/);
    expect(lines[3]).toMatch(/^@fixture\/measured +fill 64 KiB, impossible goal .* < 1000000000000 MISSED$/);
    expect(lines[4]).toBe('2 figure(s) from 1 package(s); targets: 1 met, 1 missed');
    // The package's own output went to stderr, the rows to the file.
    expect(r.stderr).toContain('bench-table: @fixture/measured');
    expect(r.stderr).toContain('measured: own output');
    const saved = readFileSync(rows, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(saved).toHaveLength(2);
    expect(saved[0]).toMatchObject({ package: '@fixture/measured', name: 'fill 64 KiB', anchor: 'Buffer.copy', target: 0 });
    expect(typeof saved[0]!.ratio).toBe('number');

    // --from prints the same table again without running anything; --strict fails on the miss.
    const again = await benchTable(['--from', rows]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(r.stdout);
    expect(again.stderr).toBe('');
    const strict = await benchTable(['--from', rows, '--strict']);
    expect(strict.code).toBe(1);
  });

  it('runs every package with a bench script, reports the ones that failed or reported nothing, exit 1', async () => {
    const r = await benchTable(['--root', dir.path, '--quiet']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      ['bench-table: @fixture/broken', 'bench-table: @fixture/measured', 'bench-table: @fixture/silent', ''].join('\n'),
    );
    expect(r.stdout).toContain('2 figure(s) from 1 package(s)');
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('failed: @fixture/broken (exit 3), @fixture/silent (no rows reported)');
  });

  it('ignores lines of a saved file that are not rows, and says so', async () => {
    const file = join(dir.path, 'mixed.jsonl');
    const row = { package: 'p', name: 'n', unit: 'ops/s', value: 2000, anchor: 'a', anchorValue: 1000, higherIsBetter: true, ratio: 2 };
    writeFileSync(
      file,
      `${JSON.stringify(row)}\nnot json\n{"package":"p"}\n\n${JSON.stringify({ ...row, name: 'm', higherIsBetter: false, ratio: 0.5 })}\n`,
    );
    const r = await benchTable(['--from', file]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('bench-table: ignored 2 line(s) that are not benchmark rows (line 2, 3)\n');
    expect(r.stdout).toMatch(/^p +n +2000 ops\/s +a +1000 ops\/s +2\.00×$/m);
    expect(r.stdout).toMatch(/^p +m +2000 ops\/s +a +1000 ops\/s +0\.50×$/m);
    expect(r.stdout).toContain('2 figure(s) from 1 package(s); targets: 0 met, 0 missed');
  });

  it.each([
    [['--filter', 'nope', '--root', '.'], 'bench-table: --filter nope: no such package in the workspace', 2],
    [['--filter', 'plain', '--root', '.'], 'bench-table: no package with a bench script matches plain', 1],
    [['--from', 'missing.jsonl'], 'bench-table: cannot read missing.jsonl: ENOENT', 1],
    [['--from', 'x', '--filter', 'y'], 'bench-table: --from prints saved rows; it takes no --filter, --root or --json', 2],
  ])('%j fails: %s', async (args, message, code) => {
    const r = await benchTable(args, { cwd: dir.path });
    expect(r.code).toBe(code);
    expect(r.stderr.split('\n')[0]).toBe(message);
  });
});
