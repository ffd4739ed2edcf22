// @blk/rbd against fio's rbd engine (librbd driven by fio itself) on the same throwaway cluster
// (one mon, one memstore OSD), two images of the same size so neither client waits for the
// other's exclusive lock. Interleaved rounds, medians, ratio to fio (goal ≥ 0.9).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  deviceTarget,
  findPeer,
  interleave,
  median,
  prefill,
  reportBench,
  runOk,
  runWorkload,
  startProcess,
  waitFor,
  type BenchRow,
  type Workload,
} from '@blk/test-kit';
import { connect, create } from '../src/index.js';
import { clusterMissing, startCluster } from '../test/helpers/ceph-cluster.js';

const MiB = 1 << 20;

interface FioSide {
  readonly iops: number;
  readonly bw_bytes: number;
  readonly total_ios: number;
}
const SPAN = 128 * MiB;
const ROUNDS = Number(process.env.BLK_BENCH_ROUNDS ?? 3);
const RUNTIME_S = 3;
const RAMP_S = 1;

const WORKLOADS: readonly (Workload & { rw: string; bs: string })[] = [
  { name: '4 KiB random read QD32', blockBytes: 4096, random: true, write: false, inFlight: 32, rw: 'randread', bs: '4k' },
  { name: '4 KiB random write QD32', blockBytes: 4096, random: true, write: true, inFlight: 32, rw: 'randwrite', bs: '4k' },
  { name: '1 MiB sequential read QD16', blockBytes: MiB, random: false, write: false, inFlight: 16, rw: 'read', bs: '1M' },
  { name: '1 MiB sequential write QD16', blockBytes: MiB, random: false, write: true, inFlight: 16, rw: 'write', bs: '1M' },
];

const missing = clusterMissing() ?? (findPeer('fio') ? undefined : 'needs fio');
if (missing) {
  console.log(`@blk/rbd bench skipped: ${missing}`);
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'blk-rbd-bench-'));
const cluster = await startCluster(dir);
try {
  const image = (name: string) => ({ pool: cluster.pool, image: name, conf: cluster.conf });
  // this repository's blk (packages/cli, when built): `blk serve rbd:` measured through fio's nbd engine
  const blk = fileURLToPath(new URL('../../cli/dist/bin.js', import.meta.url));
  const serveBlk = existsSync(blk);
  for (const name of serveBlk ? ['ours', 'fio', 'served'] : ['ours', 'fio']) {
    await create(image(name), { sizeBytes: SPAN });
    const device = await connect(image(name));
    await prefill(deviceTarget(device, 512), SPAN);
    await device.flush();
    await device.disconnect();
  }
  const device = await connect(image('ours'));
  const target = deviceTarget(device, 512);
  const fio = findPeer('fio') ?? 'fio';

  const socket = join(dir, 'nbd.sock');
  const server = serveBlk
    ? startProcess(process.execPath, [blk, 'serve', `rbd:${cluster.pool}/served?conf=${cluster.conf}`, '--socket', socket])
    : undefined;
  if (server) await waitFor(() => server.output().includes('Press Ctrl-C to stop.'), 'blk serve rbd: to be ready', 30_000);

  /** fio's nbd engine against `blk serve rbd:` (one connection). */
  async function runServed(workload: (typeof WORKLOADS)[number]): Promise<number> {
    const { stdout } = await runOk(
      fio,
      [
        '--name=nbd',
        '--ioengine=nbd',
        `--uri=nbd+unix:///?socket=${socket}`,
        `--rw=${workload.rw}`,
        `--bs=${workload.bs}`,
        `--iodepth=${workload.inFlight}`,
        `--size=${SPAN}`,
        `--runtime=${RUNTIME_S}`,
        '--time_based',
        `--ramp_time=${RAMP_S}`,
        '--output-format=json',
      ],
      { timeoutMs: (RUNTIME_S + RAMP_S + 60) * 1000 },
    );
    const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as { jobs: { read: FioSide; write: FioSide }[] };
    const side = workload.write ? report.jobs[0]!.write : report.jobs[0]!.read;
    return workload.random ? side.iops : side.bw_bytes / MiB;
  }

  /** `rbd bench` for about RUNTIME_S at `rate` (the last rate measured), on fio's image. */
  async function runRbdBench(workload: (typeof WORKLOADS)[number], rate: number): Promise<number> {
    const bytesPerSecond = workload.random ? rate * workload.blockBytes : rate * MiB;
    const total = Math.max(1, Math.round((bytesPerSecond * RUNTIME_S) / workload.blockBytes)) * workload.blockBytes;
    const { stdout } = await runOk(
      findPeer('rbd') ?? 'rbd',
      [
        '-c',
        cluster.conf,
        'bench',
        '--io-type',
        workload.write ? 'write' : 'read',
        '--io-size',
        String(workload.blockBytes),
        '--io-threads',
        String(workload.inFlight),
        '--io-total',
        String(total),
        '--io-pattern',
        workload.random ? 'rand' : 'seq',
        `${cluster.pool}/fio`,
      ],
      { timeoutMs: 120_000 },
    );
    const opsPerSecond = Number(/ops\/sec: ([\d.]+)/.exec(stdout)?.[1]);
    return workload.random ? opsPerSecond : (opsPerSecond * workload.blockBytes) / MiB;
  }

  async function runFio(workload: (typeof WORKLOADS)[number]): Promise<number> {
    // through sh, whose `times` prints the CPU its children used: fio's and librbd's threads alike
    const { stdout } = await runOk(
      'sh',
      [
        '-c',
        '"$@"; times',
        'sh',
        fio,
        '--name=rbd',
        '--ioengine=rbd',
        '--clientname=admin',
        `--pool=${cluster.pool}`,
        '--rbdname=fio',
        `--rw=${workload.rw}`,
        `--bs=${workload.bs}`,
        `--iodepth=${workload.inFlight}`,
        `--size=${SPAN}`,
        `--runtime=${RUNTIME_S}`,
        '--time_based',
        `--ramp_time=${RAMP_S}`,
        '--output-format=json',
      ],
      { env: { ...process.env, CEPH_CONF: cluster.conf }, timeoutMs: (RUNTIME_S + RAMP_S + 60) * 1000 },
    );
    const report = JSON.parse(stdout.slice(stdout.indexOf('{'), stdout.lastIndexOf('}') + 1)) as {
      jobs: { read: FioSide; write: FioSide }[];
    };
    const side = workload.write ? report.jobs[0]!.write : report.jobs[0]!.read;
    // the children's line: "0m1.230000s 0m0.450000s" (user, system)
    const children = stdout.trimEnd().split('\n').at(-1) ?? '';
    const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
    // fio's CPU covers the ramp as well: spread it over the I/Os of the whole run
    cpu.anchor.push((seconds * 1e6) / ((side.total_ios * (RUNTIME_S + RAMP_S)) / RUNTIME_S));
    return workload.random ? side.iops : side.bw_bytes / MiB;
  }

  async function runOurs(workload: Workload): Promise<number> {
    await runWorkload(target, workload, SPAN, RAMP_S * 1000); // the ramp fio also leaves out
    const before = process.cpuUsage();
    const started = performance.now();
    const rate = await runWorkload(target, workload, SPAN, RUNTIME_S * 1000);
    const used = process.cpuUsage(before);
    const ios = (rate * (performance.now() - started)) / 1000 / (workload.random ? 1 : workload.blockBytes);
    cpu.subject.push((used.user + used.system) / ios);
    return workload.random ? rate : rate / MiB;
  }

  // CPU time per I/O (this process, librbd's threads included, against the fio process's, its
  // librbd threads included): less sensitive than rates to a machine shared with other work.
  let cpu = { subject: [] as number[], anchor: [] as number[] };
  const rows: BenchRow[] = [];
  for (const workload of WORKLOADS) {
    cpu = { subject: [], anchor: [] };
    const samples = await interleave(
      ROUNDS,
      () => runOurs(workload),
      () => runFio(workload),
    );
    rows.push({
      name: `RbdDevice ${workload.name}`,
      unit: workload.random ? 'IOPS' : 'MiB/s',
      value: median(samples.subject),
      anchor: 'fio --ioengine=rbd',
      anchorValue: median(samples.anchor),
      higherIsBetter: true,
      target: 0.9,
    });
    const rbdBench = await interleave(
      ROUNDS,
      () => runOurs(workload),
      () => runRbdBench(workload, median(samples.subject)),
    );
    rows.push({
      name: `RbdDevice ${workload.name}`,
      unit: workload.random ? 'IOPS' : 'MiB/s',
      value: median(rbdBench.subject),
      anchor: 'rbd bench',
      anchorValue: median(rbdBench.anchor),
      higherIsBetter: true,
    });
    if (server) {
      const served = await interleave(
        ROUNDS,
        () => runServed(workload),
        () => runFio(workload),
      );
      rows.push({
        name: `blk serve rbd: (fio nbd engine) ${workload.name}`,
        unit: workload.random ? 'IOPS' : 'MiB/s',
        value: median(served.subject),
        anchor: 'fio --ioengine=rbd',
        anchorValue: median(served.anchor),
        higherIsBetter: true,
      });
    }
    rows.push({
      name: `RbdDevice ${workload.name} CPU per I/O`,
      unit: 'µs',
      value: median(cpu.subject),
      anchor: 'fio --ioengine=rbd',
      anchorValue: median(cpu.anchor),
      higherIsBetter: false,
    });
  }
  await device.disconnect();
  await server?.stop();
  reportBench('@blk/rbd (memstore test cluster, 128 MiB images)', rows);
} finally {
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
