#!/usr/bin/env node
// The monorepo's benchmark table (`pnpm bench`): runs `pnpm run bench` in every workspace package
// that has a bench script, one after the other, with BLK_BENCH_JSON naming a file where each
// benchmark's reportBench (@blk/test-kit) appends its rows, then prints one table: each figure,
// the anchor measured in the same run, the ratio (> 1 is better than the anchor, whichever way
// better points) and the target. The packages' own output goes to stderr. Build first.
//
//   node scripts/bench-table.mjs [--filter NAME]… [--root DIR] [--json FILE] [--strict] [--quiet]
//   node scripts/bench-table.mjs --from FILE [--strict]
//
// Exit status: 0 when every benchmark ran (and with --strict met its target), 1 when one failed
// or wrote no rows, 2 on a bad command line, 130/143 when stopped by SIGINT/SIGTERM.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { AbortController } = globalThis;

class Failure extends Error {
  constructor(message, code = 1) {
    super(message);
    this.code = code;
  }
}

/** One row as reportBench writes it; anything else in the file is reported and skipped. */
function isRecord(v) {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.package === 'string' &&
    typeof v.name === 'string' &&
    typeof v.unit === 'string' &&
    typeof v.value === 'number' &&
    typeof v.anchor === 'string' &&
    typeof v.anchorValue === 'number' &&
    typeof v.higherIsBetter === 'boolean' &&
    typeof v.ratio === 'number' &&
    (v.target === undefined || typeof v.target === 'number')
  );
}

function parseBenchRecords(text) {
  const records = [];
  const rejected = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let parsed;
    try {
      parsed = JSON.parse(line);
    } catch {
      rejected.push(index + 1);
      return;
    }
    if (isRecord(parsed)) records.push(parsed);
    else rejected.push(index + 1);
  });
  return { records, rejected };
}

const verdictOf = (r) => (r.target === undefined ? undefined : r.ratio >= r.target ? 'met' : 'missed');

function figure(n) {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (abs >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  if (abs >= 100) return n.toFixed(0);
  return n.toPrecision(3);
}

function renderBenchTable(records) {
  const header = ['package', 'benchmark', 'median', 'anchor', 'anchor median', 'ratio', 'target'];
  const rows = records.map((r) => {
    const verdict = verdictOf(r);
    return [
      r.package,
      r.name,
      `${figure(r.value)} ${r.unit}`,
      r.anchor,
      `${figure(r.anchorValue)} ${r.unit}`,
      `${r.ratio.toFixed(2)}×`,
      verdict === undefined ? '' : verdict === 'met' ? `≥ ${+r.target.toFixed(2)} ok` : `< ${+r.target.toFixed(2)} MISSED`,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const render = (cells) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [render(header), render(widths.map((w) => '-'.repeat(w))), ...rows.map(render)].join('\n') + '\n';
}

function summary(records) {
  const packages = new Set(records.map((r) => r.package)).size;
  const met = records.filter((r) => verdictOf(r) === 'met').length;
  const missed = records.filter((r) => verdictOf(r) === 'missed').length;
  return `${records.length} figure(s) from ${packages} package(s); targets: ${met} met, ${missed} missed`;
}

function report(text, failures, strict) {
  const { records, rejected } = parseBenchRecords(text);
  if (rejected.length > 0)
    process.stderr.write(`bench-table: ignored ${rejected.length} line(s) that are not benchmark rows (line ${rejected.join(', ')})\n`);
  if (records.length > 0) process.stdout.write(renderBenchTable(records));
  process.stdout.write(`${summary(records)}\n`);
  if (failures.length > 0) process.stdout.write(`failed: ${failures.join(', ')}\n`);
  return failures.length > 0 || (strict && records.some((r) => verdictOf(r) === 'missed')) ? 1 : 0;
}

/** Every package of the workspace as pnpm lists them (the root left out), sorted by name. */
function listPackages(root) {
  let listed;
  try {
    listed = JSON.parse(
      execFileSync('pnpm', ['-r', 'ls', '--json', '--depth', '-1'], { cwd: root, encoding: 'utf8', maxBuffer: 16 << 20 }),
    );
  } catch (error) {
    throw new Failure(`cannot list the packages of ${root} with pnpm: ${error.message}`);
  }
  return listed
    .filter((entry) => typeof entry.name === 'string' && typeof entry.path === 'string' && resolve(entry.path) !== resolve(root))
    .map((entry) => ({
      name: entry.name,
      path: entry.path,
      scripts: JSON.parse(readFileSync(join(entry.path, 'package.json'), 'utf8')).scripts ?? {},
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

const matches = (pkg, filter) => pkg.name === filter || pkg.name.replace(/^@[^/]+\//, '') === filter;

function select(packages, filters) {
  const benched = packages.filter((p) => typeof p.scripts.bench === 'string');
  if (filters.length === 0) return benched;
  for (const filter of filters) {
    if (!packages.some((p) => matches(p, filter))) throw new Failure(`--filter ${filter}: no such package in the workspace`, 2);
  }
  return benched.filter((p) => filters.some((f) => matches(p, f)));
}

/** Runs one package's bench script; resolves to its exit status (a signal counts as 1). */
function runBenchScript(pkg, file, quiet, stop) {
  return new Promise((resolveStatus) => {
    const child = spawn('pnpm', ['run', 'bench'], {
      cwd: pkg.path,
      env: { ...process.env, BLK_BENCH_JSON: file },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const forward = (chunk) => {
      if (!quiet) process.stderr.write(chunk);
    };
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    const onStop = () => child.kill('SIGINT');
    stop.signal.addEventListener('abort', onStop, { once: true });
    child.once('error', (error) => process.stderr.write(`bench-table: cannot run pnpm for ${pkg.name}: ${error.message}\n`));
    child.once('close', (code) => {
      stop.signal.removeEventListener('abort', onStop);
      resolveStatus(code ?? 1);
    });
  });
}

async function main(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        filter: { type: 'string', multiple: true },
        root: { type: 'string' },
        json: { type: 'string' },
        from: { type: 'string' },
        strict: { type: 'boolean' },
        quiet: { type: 'boolean', short: 'q' },
      },
    });
  } catch (error) {
    throw new Failure(error.message, 2);
  }
  const { values } = parsed;
  if (values.from !== undefined) {
    if (values.filter !== undefined || values.root !== undefined || values.json !== undefined) {
      throw new Failure('--from prints saved rows; it takes no --filter, --root or --json', 2);
    }
    let text;
    try {
      text = readFileSync(values.from, 'utf8');
    } catch (error) {
      throw new Failure(`cannot read ${values.from}: ${error.code ?? error.message}`);
    }
    return report(text, [], values.strict === true);
  }

  const root = resolve(values.root ?? join(import.meta.dirname, '..'));
  const selected = select(listPackages(root), values.filter ?? []);
  if (selected.length === 0)
    throw new Failure(`no package with a bench script${values.filter ? ` matches ${values.filter.join(', ')}` : ''}`);

  const temp = values.json === undefined ? mkdtempSync(join(tmpdir(), 'blk-bench-')) : undefined;
  const file = temp === undefined ? resolve(values.json) : join(temp, 'rows.jsonl');
  const controller = new AbortController();
  let received;
  const onSignal = (name) => {
    received ??= name;
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    writeFileSync(file, '');
    const failures = [];
    for (const pkg of selected) {
      if (received !== undefined) break;
      const before = parseBenchRecords(readFileSync(file, 'utf8')).records.length;
      process.stderr.write(`bench-table: ${pkg.name}\n`);
      const status = await runBenchScript(pkg, file, values.quiet === true, controller);
      const after = parseBenchRecords(readFileSync(file, 'utf8')).records.length;
      if (status !== 0) failures.push(`${pkg.name} (exit ${status})`);
      else if (after === before) failures.push(`${pkg.name} (no rows reported)`);
    }
    const code = report(readFileSync(file, 'utf8'), failures, values.strict === true);
    if (received !== undefined) {
      process.stderr.write(`bench-table: stopped by ${received}; the table has the rows reported so far\n`);
      return received === 'SIGINT' ? 130 : 143;
    }
    return code;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (temp !== undefined) rmSync(temp, { recursive: true, force: true });
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof Failure)) throw error;
  process.stderr.write(`bench-table: ${error.message}\n`);
  process.exitCode = error.code;
}
