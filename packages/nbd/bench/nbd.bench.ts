// pnpm bench: our NBD server over a ramdisk against `nbdkit memory` on the same kind of socket
// (Unix), the same fio jobs interleaved A/B/A/B/A/B, medians; then our client reading and writing
// 1 GiB against nbdkit, against nbdcopy doing the same. BLK_BENCH_QUICK=1 makes the runs short
// (a smoke run: quote full runs). Our server runs as its own `node` process on the built package
// (bench/serve.mjs over dist/, so build first), as nbdkit runs as its own process.
import { findPeer, interleave, makeTempDir, median, reportBench, runOk, startProcess, waitFor, type BenchRow } from '@blk/test-kit';
import { randomFillSync } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatUri } from '../dist/index.js';

const quick = process.env.BLK_BENCH_QUICK === '1';
const GiB = 1 << 30;
const MiB = 1 << 20;
const ROUNDS = 3;
const RUNTIME_S = quick ? 2 : 8;
const RAMP_S = quick ? 0.5 : 1;

function need(program: string): string {
  const path = findPeer(program);
  if (!path) throw new Error(`the benchmark needs ${program} (apt-get install the Debian peers)`);
  return path;
}
const fio = need('fio');
const nbdkit = need('nbdkit');
const nbdcopy = need('nbdcopy');

interface FioJob {
  readonly name: string;
  readonly rw: string;
  readonly bs: string;
  readonly iodepth: number;
  readonly measure: 'MiB/s' | 'IOPS' | 'µs';
}

const JOBS: readonly FioJob[] = [
  { name: '1 MiB sequential write QD16', rw: 'write', bs: '1M', iodepth: 16, measure: 'MiB/s' },
  { name: '1 MiB sequential read QD16', rw: 'read', bs: '1M', iodepth: 16, measure: 'MiB/s' },
  { name: '4 KiB random read QD32', rw: 'randread', bs: '4k', iodepth: 32, measure: 'IOPS' },
  { name: '4 KiB random write QD32', rw: 'randwrite', bs: '4k', iodepth: 32, measure: 'IOPS' },
  { name: '4 KiB random read QD1 (mean latency)', rw: 'randread', bs: '4k', iodepth: 1, measure: 'µs' },
];

interface FioSide {
  readonly bw_bytes: number;
  readonly iops: number;
  readonly lat_ns: { readonly mean: number };
}

async function runFio(job: FioJob, uri: string): Promise<number> {
  const { stdout } = await runOk(
    fio,
    [
      `--name=${job.rw}`,
      '--ioengine=nbd',
      `--uri=${uri}`,
      `--rw=${job.rw}`,
      `--bs=${job.bs}`,
      `--iodepth=${job.iodepth}`,
      '--size=1G',
      `--runtime=${RUNTIME_S}`,
      '--time_based',
      `--ramp_time=${RAMP_S}`,
      '--output-format=json',
    ],
    { timeoutMs: (RUNTIME_S + RAMP_S + 30) * 1000 },
  );
  // fio prints "fio: connected to NBD server" ahead of the JSON.
  const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as { jobs: { read: FioSide; write: FioSide }[] };
  const side = job.rw.includes('write') ? report.jobs[0]!.write : report.jobs[0]!.read;
  if (job.measure === 'MiB/s') return side.bw_bytes / MiB;
  if (job.measure === 'IOPS') return side.iops;
  return side.lat_ns.mean / 1000;
}

// --- the client: 1 GiB in and out of nbdkit, against nbdcopy -------------------------------

const COPY_BYTES = GiB;
const COPY_ROUNDS = quick ? 1 : ROUNDS;

/** Our client in its own process: 2 MiB requests, 16 in flight, 4 connections (bench/client.mjs). */
async function ourClient(uri: string, direction: 'write' | 'read'): Promise<number> {
  const { stdout } = await runOk(process.execPath, [join(import.meta.dirname, 'client.mjs'), uri, direction, String(COPY_BYTES)], {
    timeoutMs: 120_000,
  });
  return Number(stdout.trim());
}

/** nbdcopy's wall time (its defaults: 4 connections, 64 requests in flight). */
async function nbdcopyTime(args: readonly string[]): Promise<number> {
  const start = performance.now();
  await runOk(nbdcopy, args, { timeoutMs: 120_000 });
  return (performance.now() - start) / 1000;
}

// --- the run -------------------------------------------------------------------------------

/** BLK_BENCH_FILTER (a regular expression) picks the benchmarks to run, for quick iterations. */
const filter = new RegExp(process.env.BLK_BENCH_FILTER ?? '');
const dir = makeTempDir('blk-nbd-bench-');
const ourSocket = join(dir.path, 'ours.sock');
const kitSocket = join(dir.path, 'nbdkit.sock');
const kitPid = join(dir.path, 'nbdkit.pid');
// nbdcopy writes from a file in tmpfs (memory), our client from buffers of the same kind of data.
const sourceFile = join('/dev/shm', `blk-nbd-bench-${process.pid}.img`);
const oursProcess = startProcess(process.execPath, [join(import.meta.dirname, 'serve.mjs'), ourSocket, '1024']);
const kit = startProcess(nbdkit, ['-f', '-U', kitSocket, '-P', kitPid, 'memory', '1G']);
const rows: BenchRow[] = [];
try {
  await waitFor(() => oursProcess.output().includes('listening') || oursProcess.child.exitCode !== null, 'our server to start');
  if (oursProcess.child.exitCode !== null) throw new Error(`our server did not start: ${oursProcess.output()}`);
  await waitFor(() => existsSync(kitPid), 'nbdkit to start');
  const ours = formatUri({ path: ourSocket });
  const theirs = formatUri({ path: kitSocket });

  for (const job of JOBS.filter((j) => filter.test(`server: fio ${j.name}`))) {
    const samples = await interleave(
      ROUNDS,
      () => runFio(job, ours),
      () => runFio(job, theirs),
    );
    rows.push({
      name: `server: fio ${job.name}`,
      unit: job.measure,
      value: median(samples.subject),
      anchor: 'nbdkit memory (Unix socket)',
      anchorValue: median(samples.anchor),
      higherIsBetter: job.measure !== 'µs',
      target: 1,
    });
    console.log(`${job.name}: ours ${samples.subject.map((v) => v.toFixed(0)).join(' ')} | nbdkit ${samples.anchor.map((v) => v.toFixed(0)).join(' ')}`);
  }

  const directions = (['write', 'read'] as const).filter((d) => filter.test(`client: ${d}`));
  if (directions.length > 0) {
    const pattern = randomFillSync(Buffer.alloc(2 * MiB));
    writeFileSync(sourceFile, Buffer.concat(Array.from({ length: COPY_BYTES / pattern.length }, () => pattern)));
    // Untimed: nbdkit allocates its memory on the first write, which would burden whoever goes first.
    await nbdcopyTime([sourceFile, theirs]);
  }
  for (const direction of directions) {
    const samples = await interleave(
      COPY_ROUNDS,
      () => ourClient(theirs, direction),
      () => nbdcopyTime(direction === 'write' ? [sourceFile, theirs] : [theirs, 'null:']),
    );
    rows.push({
      name: `client: ${COPY_BYTES / MiB} MiB ${direction === 'write' ? 'into' : 'out of'} nbdkit memory`,
      unit: 's',
      value: median(samples.subject),
      anchor: 'nbdcopy (4 connections)',
      anchorValue: median(samples.anchor),
      higherIsBetter: false,
    });
    console.log(`client ${direction}: ours ${samples.subject.map((v) => v.toFixed(2)).join(' ')} | nbdcopy ${samples.anchor.map((v) => v.toFixed(2)).join(' ')}`);
  }
} finally {
  rmSync(sourceFile, { force: true });
  await oursProcess.stop();
  await kit.stop();
  dir.remove();
}

reportBench('@blk/nbd', rows);
