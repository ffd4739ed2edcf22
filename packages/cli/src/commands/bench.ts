import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseBenchRecords, verdictOf, type BenchRecord } from '../bench-rows.js';
import { renderBenchTable } from '../bench-table.js';
import { CliError, EXIT, UsageError } from '../cli-error.js';
import type { Command, Io } from '../command.js';
import { expectPositionals, parseCommandLine } from '../command-line.js';
import { describeError } from '../describe-error.js';
import { catchStopSignals, exitCodeFor, type StopSignals } from '../stop-signals.js';
import { findWorkspaceRoot, listWorkspacePackages, type WorkspacePackage } from '../workspace.js';

export const benchCommand: Command = {
  name: 'bench',
  summary: "run every package's benchmark and print one table against the anchors",
  usage: `Usage: blk bench [--filter NAME]… [--root DIR] [--json FILE] [--strict] [--quiet]
       blk bench --from FILE [--strict]

Runs 'pnpm run bench' in every workspace package that has a bench script, one after the other,
with BLK_BENCH_JSON naming a file where each benchmark's reportBench appends its rows. Then
prints one table: each figure, the anchor measured in the same run, the ratio (above 1 is better
than the anchor, whichever way better points) and the target. The packages' own output goes to
stderr. Build first (pnpm build): the benchmarks import the built packages.

Options:
  --filter NAME  only this package (@blk/ramdisk or ramdisk); repeatable
  --root DIR     the workspace (default: the nearest folder above the current one with
                 a pnpm-workspace.yaml)
  --json FILE    keep the rows in FILE (JSON lines) instead of a temporary file
  --from FILE    run nothing: print the table of rows saved earlier with --json
  --strict       exit 1 when a figure misses its target
  -q, --quiet    do not pass the packages' own output through
  -h, --help     this text

Exit status: 0 when every benchmark ran (and with --strict met its target), 1 when one failed
or wrote no rows, 130/143 when stopped by SIGINT/SIGTERM.

Examples:
  pnpm build && blk bench
  blk bench --filter ramdisk --filter nbd --json bench.jsonl
`,
  async run(args, io) {
    const { values, positionals } = parseCommandLine('bench', {
      args: [...args],
      options: {
        filter: { type: 'string', multiple: true },
        root: { type: 'string' },
        json: { type: 'string' },
        from: { type: 'string' },
        strict: { type: 'boolean' },
        quiet: { type: 'boolean', short: 'q' },
      },
      allowPositionals: true,
    });
    expectPositionals('bench', positionals, []);
    if (values.from !== undefined) {
      if (values.filter !== undefined || values.root !== undefined || values.json !== undefined) {
        throw new UsageError('bench: --from prints saved rows; it takes no --filter, --root or --json');
      }
      const text = await readFile(resolve(io.cwd, values.from), 'utf8').catch((error: unknown) => {
        throw new CliError(`bench: cannot read ${values.from!}: ${describeError(error)}`);
      });
      return report(io, text, [], values.strict === true);
    }

    const root = values.root === undefined ? findWorkspaceRoot(io.cwd) : resolve(io.cwd, values.root);
    if (root === undefined) throw new CliError(`bench: no pnpm-workspace.yaml at or above ${io.cwd}; run it in the repository or pass --root`);
    const packages = await listWorkspacePackages(root).catch((error: unknown) => {
      throw new CliError(`bench: cannot list the packages of ${root} with pnpm: ${describeError(error)}`);
    });
    const selected = select(packages, values.filter ?? []);
    if (selected.length === 0) throw new CliError(`bench: no package with a bench script${values.filter ? ` matches ${values.filter.join(', ')}` : ''}`);

    const temp = values.json === undefined ? await mkdtemp(join(tmpdir(), 'blk-bench-')) : undefined;
    const file = temp === undefined ? resolve(io.cwd, values.json!) : join(temp, 'rows.jsonl');
    const stop = catchStopSignals();
    try {
      await writeFile(file, '');
      const failures: string[] = [];
      for (const pkg of selected) {
        if (stop.received() !== undefined) break;
        const before = parseBenchRecords(await readFile(file, 'utf8')).records.length;
        io.stderr.write(`blk bench: ${pkg.name}\n`);
        const status = await runBenchScript(pkg, file, io, values.quiet === true, stop);
        const after = parseBenchRecords(await readFile(file, 'utf8')).records.length;
        if (status !== 0) failures.push(`${pkg.name} (exit ${status})`);
        else if (after === before) failures.push(`${pkg.name} (no rows reported)`);
      }
      const code = report(io, await readFile(file, 'utf8'), failures, values.strict === true);
      const signalName = stop.received();
      if (signalName !== undefined) {
        io.stderr.write(`blk bench: stopped by ${signalName}; the table has the rows reported so far\n`);
        return exitCodeFor(signalName);
      }
      return code;
    } finally {
      stop.dispose();
      if (temp !== undefined) await rm(temp, { recursive: true, force: true });
    }
  },
};

function select(packages: readonly WorkspacePackage[], filters: readonly string[]): WorkspacePackage[] {
  const benched = packages.filter((p) => typeof p.scripts.bench === 'string');
  if (filters.length === 0) return benched;
  for (const filter of filters) {
    if (!packages.some((p) => matches(p, filter))) throw new UsageError(`bench: --filter ${filter}: no such package in the workspace`);
  }
  return benched.filter((p) => filters.some((f) => matches(p, f)));
}

function matches(pkg: WorkspacePackage, filter: string): boolean {
  return pkg.name === filter || pkg.name.replace(/^@[^/]+\//, '') === filter;
}

/** Runs one package's bench script; resolves to its exit status (a signal counts as 1). */
function runBenchScript(pkg: WorkspacePackage, file: string, io: Io, quiet: boolean, stop: StopSignals): Promise<number> {
  return new Promise((resolveStatus) => {
    const child = spawn('pnpm', ['run', 'bench'], {
      cwd: pkg.path,
      env: { ...io.env, BLK_BENCH_JSON: file },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const forward = (chunk: Buffer) => {
      if (!quiet) io.stderr.write(chunk.toString('utf8'));
    };
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    const onStop = () => child.kill('SIGINT');
    stop.signal.addEventListener('abort', onStop, { once: true });
    child.once('error', (error) => {
      io.stderr.write(`blk bench: cannot run pnpm for ${pkg.name}: ${describeError(error)}\n`);
    });
    child.once('close', (code) => {
      stop.signal.removeEventListener('abort', onStop);
      resolveStatus(code ?? 1);
    });
  });
}

function report(io: Io, text: string, failures: readonly string[], strict: boolean): number {
  const { records, rejected } = parseBenchRecords(text);
  if (rejected.length > 0) io.stderr.write(`blk bench: ignored ${rejected.length} line(s) that are not benchmark rows (line ${rejected.join(', ')})\n`);
  if (records.length > 0) io.stdout.write(renderBenchTable(records));
  io.stdout.write(`${summary(records)}\n`);
  if (failures.length > 0) io.stdout.write(`failed: ${failures.join(', ')}\n`);
  const missed = records.some((r) => verdictOf(r) === 'missed');
  return failures.length > 0 || (strict && missed) ? EXIT.FAILURE : EXIT.OK;
}

function summary(records: readonly BenchRecord[]): string {
  const packages = new Set(records.map((r) => r.package)).size;
  const met = records.filter((r) => verdictOf(r) === 'met').length;
  const missed = records.filter((r) => verdictOf(r) === 'missed').length;
  return `${records.length} figure(s) from ${packages} package(s); targets: ${met} met, ${missed} missed`;
}
