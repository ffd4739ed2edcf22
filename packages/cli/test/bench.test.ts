import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '@blk/test-kit';
import { blk } from './helpers/blk.js';

const TEST_KIT = pathToFileURL(join(import.meta.dirname, '../node_modules/@blk/test-kit/dist/index.js')).href;

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
  pkg('measured', '@fixture/measured', { bench: 'node bench.mjs' }, {
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
  });
  pkg('broken', '@fixture/broken', { bench: 'node -e "process.exit(3)"' });
  pkg('silent', '@fixture/silent', { bench: 'node -e "0"' });
  pkg('plain', '@fixture/plain', { test: 'true' });
}

describe('blk bench', () => {
  let dir: { path: string; remove(): void };
  beforeAll(() => {
    dir = makeTempDir('blk-cli-bench-');
    makeWorkspace(dir.path);
  });
  afterAll(() => dir.remove());

  it("runs one package's bench script with BLK_BENCH_JSON and prints the combined table", async () => {
    const rows = join(dir.path, 'rows.jsonl');
    const r = await blk(['bench', '--filter', 'measured', '--json', rows], { cwd: join(dir.path, 'packages', 'plain') });
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^package +benchmark +median +anchor +anchor median +ratio +target$/);
    expect(lines[2]).toMatch(/^@fixture\/measured +fill 64 KiB +\S+ B\/s +Buffer\.copy +\S+ B\/s +\d+\.\d\d× +≥ 0 ok$/);
    expect(lines[3]).toMatch(/^@fixture\/measured +fill 64 KiB, impossible goal .* < 1000000000000 MISSED$/);
    expect(lines[4]).toBe('2 figure(s) from 1 package(s); targets: 1 met, 1 missed');
    // The package's own output went to stderr, the rows to the file.
    expect(r.stderr).toContain('blk bench: @fixture/measured');
    expect(r.stderr).toContain('measured: own output');
    const saved = readFileSync(rows, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(saved).toHaveLength(2);
    expect(saved[0]).toMatchObject({ package: '@fixture/measured', name: 'fill 64 KiB', anchor: 'Buffer.copy', target: 0 });
    expect(typeof saved[0]!.ratio).toBe('number');

    // --from prints the same table again without running anything; --strict fails on the miss.
    const again = await blk(['bench', '--from', rows]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(r.stdout);
    expect(again.stderr).toBe('');
    const strict = await blk(['bench', '--from', rows, '--strict']);
    expect(strict.code).toBe(1);
  });

  it('runs every package with a bench script, reports the ones that failed or reported nothing, exit 1', async () => {
    const r = await blk(['bench', '--root', dir.path, '--quiet']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(['blk bench: @fixture/broken', 'blk bench: @fixture/measured', 'blk bench: @fixture/silent', ''].join('\n'));
    expect(r.stdout).toContain('2 figure(s) from 1 package(s)');
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('failed: @fixture/broken (exit 3), @fixture/silent (no rows reported)');
  });

  it('ignores lines of a saved file that are not rows, and says so', async () => {
    const file = join(dir.path, 'mixed.jsonl');
    const row = { package: 'p', name: 'n', unit: 'ops/s', value: 2000, anchor: 'a', anchorValue: 1000, higherIsBetter: true, ratio: 2 };
    writeFileSync(file, `${JSON.stringify(row)}\nnot json\n{"package":"p"}\n\n${JSON.stringify({ ...row, name: 'm', higherIsBetter: false, ratio: 0.5 })}\n`);
    const r = await blk(['bench', '--from', file]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('blk bench: ignored 2 line(s) that are not benchmark rows (line 2, 3)\n');
    expect(r.stdout).toMatch(/^p +n +2000 ops\/s +a +1000 ops\/s +2\.00×$/m);
    expect(r.stdout).toMatch(/^p +m +2000 ops\/s +a +1000 ops\/s +0\.50×$/m);
    expect(r.stdout).toContain('2 figure(s) from 1 package(s); targets: 0 met, 0 missed');
  });

  it.each([
    [['bench', '--filter', 'nope', '--root', '.'], 'blk: bench: --filter nope: no such package in the workspace', 2],
    [['bench', '--filter', 'plain', '--root', '.'], 'blk: bench: no package with a bench script matches plain', 1],
    [['bench', '--from', 'missing.jsonl'], 'blk: bench: cannot read missing.jsonl: no such file or directory (ENOENT)', 1],
    [['bench', '--from', 'x', '--filter', 'y'], 'blk: bench: --from prints saved rows; it takes no --filter, --root or --json', 2],
  ])('%j fails: %s', async (args, message, code) => {
    const r = await blk(args, { cwd: dir.path });
    expect(r.code).toBe(code);
    expect(r.stderr.split('\n')[0]).toBe(message);
  });

  it('outside any workspace says where it looked', async () => {
    const outside = makeTempDir('blk-cli-nowhere-');
    try {
      const r = await blk(['bench'], { cwd: outside.path });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`blk: bench: no pnpm-workspace.yaml at or above ${outside.path}; run it in the repository or pass --root\n`);
    } finally {
      outside.remove();
    }
  });
});
