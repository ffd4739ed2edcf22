// pnpm bench: our NBD server against nbdkit (and qemu-nbd, as context) on the same fio jobs, for a
// ramdisk (`nbdkit memory`) and a file (`nbdkit file`), every server its own process on a Unix
// socket, the servers interleaved round by round, medians of ROUNDS; then our client doing what
// `blk copy` does between a file and an NBD export, both ways, against nbdcopy --flush (blk copy
// flushes its destination before it exits; nbdcopy only with --flush, and without it a copy into
// a file skips writing a gigabyte to the disk, which is not the same job). Beside each fio
// figure, the server's CPU time per I/O (all its threads and processes, from /proc): on a machine
// shared with other work, throughput also measures how much of the CPUs a server's threads win,
// while CPU per I/O measures the work it does.
//   BLK_BENCH_QUICK=1     a 256 MiB export and 2 s runs (a smoke run: quote full runs)
//   BLK_BENCH_FILTER=RE   only the rows whose name matches RE (e.g. 'file: .*QD1', 'client')
// Build first (pnpm build): the servers and the client run on the built packages.
import { findPeer, makeTempDir, median, reportBench, runOk, type BenchRow } from '@blk/test-kit';
import { randomFillSync } from 'node:crypto';
import { closeSync, copyFileSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { FIO_JOBS, runFio, type FioJob, type FioSettings } from './fio-jobs.js';
import { startNbdkit, startOurs, startQemuNbd, type Backing, type Peers, type RunningServer } from './servers.js';

const quick = process.env.BLK_BENCH_QUICK === '1';
const MiB = 1 << 20;
const SIZE = quick ? 256 * MiB : 1024 * MiB;
const ROUNDS = 3;
const filter = new RegExp(process.env.BLK_BENCH_FILTER ?? '');

function need(program: string): string {
  const path = findPeer(program);
  if (!path) throw new Error(`the benchmark needs ${program} (apt-get install the Debian peers)`);
  return path;
}
const fio = need('fio');
const nbdcopy = need('nbdcopy');
const peers: Peers = { nbdkit: need('nbdkit'), qemuNbd: need('qemu-nbd') };
const settings: FioSettings = { fio, sizeBytes: SIZE, runtimeS: quick ? 2 : 8, rampS: quick ? 0.5 : 1 };

/** A file of `bytes` random (incompressible, nonzero) bytes: what a used disk image looks like. */
function writeImage(path: string, bytes: number): void {
  const block = randomFillSync(Buffer.allocUnsafe(16 * MiB));
  const fd = openSync(path, 'w');
  try {
    for (let at = 0; at < bytes; at += block.length) writeSync(fd, block, 0, Math.min(block.length, bytes - at), at);
  } finally {
    closeSync(fd);
  }
}

/** Runs each sampler once per round, in turn; the samples per sampler. */
async function rounds(samplers: readonly (() => Promise<number>)[]): Promise<number[][]> {
  const out = samplers.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, sample] of samplers.entries()) out[i]!.push(await sample());
  }
  return out;
}

function fmt(values: readonly number[]): string {
  return values.map((v) => (v >= 100 ? v.toFixed(0) : v.toFixed(2))).join(' ');
}

/** One fio run against `server`: the job's figure, and the server's CPU µs per I/O during it. */
async function sampleFio(job: FioJob, server: RunningServer): Promise<{ figure: number; cpuPerIo: number }> {
  const before = server.cpuSeconds();
  const { figure, ios } = await runFio(settings, job, server.uri);
  return { figure, cpuPerIo: ((server.cpuSeconds() - before) * 1e6) / Math.max(1, ios) };
}

async function nbdcopyTime(args: readonly string[]): Promise<number> {
  const start = performance.now();
  await runOk(nbdcopy, args, { timeoutMs: 300_000 });
  return (performance.now() - start) / 1000;
}

async function ourCopyTime(from: string, to: string): Promise<number> {
  const { stdout } = await runOk(process.execPath, [join(import.meta.dirname, 'client.mjs'), from, to], { timeoutMs: 300_000 });
  return Number(stdout.trim());
}

const dir = makeTempDir('blk-nbd-bench-');
const shmImage = join('/dev/shm', `blk-nbd-bench-${process.pid}.img`);
const rows: BenchRow[] = [];
const running: RunningServer[] = [];
try {
  const image = join(dir.path, 'disk.img');
  const source = join(dir.path, 'source.img');
  writeImage(source, SIZE);
  const backings: Backing[] = [
    { kind: 'ram', bytes: SIZE, tmpfsImage: shmImage },
    { kind: 'file', image },
  ];
  for (const backing of backings) {
    const jobs = FIO_JOBS.filter((job) => filter.test(`${backing.kind}: fio ${job.name}`));
    if (jobs.length === 0) continue;
    if (backing.kind === 'ram') copyFileSync(source, shmImage);
    else copyFileSync(source, image);
    const servers = [
      await startOurs(dir.path, backing),
      await startNbdkit(dir.path, peers, backing),
      await startQemuNbd(dir.path, peers, backing),
    ];
    running.push(...servers);
    // Untimed: a memory server allocates on first write, which would burden whichever job ran first.
    if (backing.kind === 'ram') for (const server of servers.slice(0, 2)) await nbdcopyTime([source, server.uri]);
    const [ours, kit, qemu] = servers as [RunningServer, RunningServer, RunningServer];
    for (const job of jobs) {
      const cpu: number[][] = servers.map(() => []);
      const [o, k, q] = (await rounds(
        servers.map((server, i) => async () => {
          const sample = await sampleFio(job, server);
          cpu[i]!.push(sample.cpuPerIo);
          return sample.figure;
        }),
      )) as [number[], number[], number[]];
      const name = `${backing.kind}: fio ${job.name}`;
      const common = { unit: job.measure, anchor: kit.label, anchorValue: median(k), higherIsBetter: job.measure !== 'µs' };
      rows.push({ name: `${name}: ${ours.label}`, value: median(o), target: 1, ...common });
      rows.push({ name: `${name}: ${qemu.label}`, value: median(q), ...common });
      rows.push({
        name: `${name}: ${ours.label} CPU per I/O`,
        unit: 'µs',
        value: median(cpu[0]!),
        anchor: kit.label,
        anchorValue: median(cpu[1]!),
        higherIsBetter: false,
      });
      console.log(`${name}: ours ${fmt(o)} | nbdkit ${fmt(k)} | qemu-nbd ${fmt(q)}`);
      console.log(`${name}: CPU µs per I/O: ours ${fmt(cpu[0]!)} | nbdkit ${fmt(cpu[1]!)} | qemu-nbd ${fmt(cpu[2]!)}`);
    }
    for (const server of servers) await server.stop();
    running.length = 0;
  }
  rmSync(shmImage, { force: true });

  const directions = (['into', 'out of'] as const).filter((d) => filter.test(`client: copy ${d}`));
  if (directions.length > 0) {
    const kit = await startNbdkit(dir.path, peers, { kind: 'ram', bytes: SIZE, tmpfsImage: shmImage });
    running.push(kit);
    const target = join(dir.path, 'target.img');
    copyFileSync(source, target);
    await nbdcopyTime([source, kit.uri]);
    for (const direction of directions) {
      const [ours, theirs] = (await rounds(
        direction === 'into'
          ? [() => ourCopyTime(source, kit.uri), () => nbdcopyTime(['--flush', source, kit.uri])]
          : [() => ourCopyTime(kit.uri, target), () => nbdcopyTime(['--flush', kit.uri, target])],
      )) as [number[], number[]];
      const name = `client: copy ${SIZE / MiB} MiB ${direction === 'into' ? 'file → nbdkit memory' : 'nbdkit memory → file'}`;
      rows.push({
        name: `${name}: blk copy`,
        unit: 's',
        value: median(ours),
        anchor: 'nbdcopy',
        anchorValue: median(theirs),
        higherIsBetter: false,
        target: 1,
      });
      console.log(`${name}: blk copy ${fmt(ours)} | nbdcopy ${fmt(theirs)}`);
    }
  }
} finally {
  for (const server of running) await server.stop();
  rmSync(shmImage, { force: true });
  dir.remove();
}

reportBench('@blk/nbd', rows);
