// pnpm bench, end to end: a 1 GiB image file served over NBD while it is mirrored onto `nbdkit
// memory` on another Unix socket (bench/serve-mirror.mjs, set up as `blk mirror SRC nbd+unix://…
// --serve` is), with fio doing 4 KiB random reads and writes at QD8 through the served export.
// Interleaved round by round, medians:
// - fio's p99 completion latency while the mirror copies, against the same fio job on a plain
//   serve of the same file (no mirror);
// - time to synced with no client, against nbdcopy of the same image to the same kind of target;
// - at synced, after fio wrote through the synced mirror and a final flush, the target must
//   compare equal to the image (qemu-img compare), else the benchmark fails.
// Build first (pnpm build): the server runs on dist/. BLK_BENCH_QUICK=1: one short round.
// On a shared machine a p99 measures mostly the other processes: as root, run it under
// `chrt -r 10` so fio, nbdkit and our servers (all children) are scheduled ahead of the rest.
import { findPeer, makeTempDir, median, reportBench, runOk, startProcess, waitFor, type BenchRow } from '@blk/test-kit';
import { randomFillSync } from 'node:crypto';
import { existsSync, openSync, closeSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const quick = process.env.BLK_BENCH_QUICK === '1';
const GiB = 1 << 30;
const MiB = 1 << 20;
const ROUNDS = Number(process.env.MIRROR_E2E_ROUNDS ?? (quick ? 1 : 3));
const FIO_S = quick ? 3 : 5;

function need(program: string): string {
  const path = findPeer(program);
  if (!path) throw new Error(`the benchmark needs ${program} (apt-get install the Debian peers)`);
  return path;
}
const fio = need('fio');
const nbdkit = need('nbdkit');
const nbdcopy = need('nbdcopy');
const qemuImg = need('qemu-img');
const serveScript = join(import.meta.dirname, 'serve-mirror.mjs');

const dir = makeTempDir('blk-mirror-e2e-');
const image = join('/dev/shm', `blk-mirror-e2e-${process.pid}.img`);
let serial = 0;
const unixUri = (socket: string) => `nbd+unix:///?socket=${socket}`;

interface FioSide {
  readonly clat_ns: { readonly percentile: Readonly<Record<string, number>> };
}

interface FioLatency {
  readonly readP99: number;
  readonly writeP99: number;
}

/** fio 4 KiB randrw QD8 on `uri` for `seconds`; p99 completion latency of reads and writes, µs. */
async function runFio(uri: string, seconds: number): Promise<FioLatency> {
  const { stdout } = await runOk(
    fio,
    [
      '--name=randrw',
      '--ioengine=nbd',
      `--uri=${uri}`,
      '--rw=randrw',
      '--bs=4k',
      '--iodepth=8',
      '--size=1G',
      `--runtime=${seconds}`,
      '--time_based',
      '--output-format=json',
    ],
    { timeoutMs: (seconds + 30) * 1000 },
  );
  const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as { jobs: { read: FioSide; write: FioSide }[] };
  const p99 = (side: FioSide) => side.clat_ns.percentile['99.000000']! / 1000;
  return { readP99: p99(report.jobs[0]!.read), writeP99: p99(report.jobs[0]!.write) };
}

/** A fresh `nbdkit memory 1G` on its own socket. */
async function startTarget(): Promise<{ uri: string; socket: string; stop(): Promise<void> }> {
  const socket = join(dir.path, `target-${++serial}.sock`);
  const pid = join(dir.path, `target-${serial}.pid`);
  const kit = startProcess(nbdkit, ['-f', '-U', socket, '-P', pid, 'memory', '1G']);
  await waitFor(() => existsSync(pid) || kit.child.exitCode !== null, 'nbdkit to start');
  if (kit.child.exitCode !== null) throw new Error(`nbdkit did not start: ${kit.output()}`);
  return { uri: unixUri(socket), socket, stop: () => kit.stop() };
}

/** Our server (serve-mirror.mjs) in its own process. */
async function startOurs(mode: 'serve' | 'mirror', target?: string) {
  const socket = join(dir.path, `ours-${++serial}.sock`);
  const ours = startProcess(process.execPath, [serveScript, mode, image, socket, ...(target ? [target] : [])], { graceMs: 20_000 });
  await waitFor(() => ours.output().includes('listening') || ours.child.exitCode !== null, 'our server to start');
  if (ours.child.exitCode !== null) throw new Error(`our server did not start: ${ours.output()}`);
  const syncedAfter = (): number | undefined => {
    const m = /synced (\S+)/.exec(ours.output());
    return m ? Number(m[1]) : undefined;
  };
  return { uri: unixUri(socket), ours, syncedAfter };
}

/** fio on a plain serve of the image: the anchor for latency. */
async function plainServeLatency(): Promise<FioLatency> {
  const { uri, ours } = await startOurs('serve');
  try {
    return await runFio(uri, FIO_S);
  } finally {
    await ours.stop();
  }
}

/**
 * fio on the mirror while it copies, then (once synced) fio again through the synced mirror, a
 * final flush, and qemu-img compare of image and target.
 */
async function mirrorUnderLoad(): Promise<{ latency: FioLatency; syncedDuringFio: boolean; syncedAfter: number }> {
  const target = await startTarget();
  try {
    const { uri, ours, syncedAfter } = await startOurs('mirror', target.socket);
    try {
      const latency = await runFio(uri, FIO_S);
      const syncedDuringFio = syncedAfter() !== undefined;
      await waitFor(() => syncedAfter() !== undefined || ours.child.exitCode !== null, 'the mirror to sync', 120_000);
      if (ours.output().includes('failed')) throw new Error(`the mirror failed: ${ours.output()}`);
      await runFio(uri, 1);
      await ours.stop();
      if (!ours.output().includes('flushed synced')) throw new Error(`no final flush in sync: ${ours.output()}`);
      const compared = await runOk(qemuImg, ['compare', '-f', 'raw', '-F', 'raw', image, target.uri], { timeoutMs: 120_000 });
      if (!compared.stdout.includes('identical')) throw new Error(`target differs from the image: ${compared.stdout}`);
      return { latency, syncedDuringFio, syncedAfter: syncedAfter()! };
    } finally {
      await ours.stop();
    }
  } finally {
    await target.stop();
  }
}

/** Time from opening the devices to synced, no client. */
async function mirrorIdleSeconds(): Promise<number> {
  const target = await startTarget();
  try {
    const { ours, syncedAfter } = await startOurs('mirror', target.socket);
    try {
      await waitFor(() => syncedAfter() !== undefined || ours.child.exitCode !== null, 'the mirror to sync', 120_000);
      const seconds = syncedAfter();
      if (seconds === undefined) throw new Error(`the mirror did not sync: ${ours.output()}`);
      return seconds;
    } finally {
      await ours.stop();
    }
  } finally {
    await target.stop();
  }
}

/** nbdcopy's wall time from the image to a fresh target (its defaults: 4 connections, 64 requests in flight). */
async function nbdcopySeconds(): Promise<number> {
  const target = await startTarget();
  try {
    const start = performance.now();
    await runOk(nbdcopy, [image, target.uri], { timeoutMs: 120_000 });
    return (performance.now() - start) / 1000;
  } finally {
    await target.stop();
  }
}

const rows: BenchRow[] = [];
try {
  // A dense image of random data, written in pieces (no 1 GiB buffer).
  const fd = openSync(image, 'w');
  const piece = Buffer.alloc(16 * MiB);
  for (let at = 0; at < GiB; at += piece.length) writeSync(fd, randomFillSync(piece));
  closeSync(fd);

  const plain: FioLatency[] = [];
  const during: FioLatency[] = [];
  const idle: number[] = [];
  const copy: number[] = [];
  const underLoad: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // A B, then B A: neither side always runs first.
    const latencyPair = [
      () => plainServeLatency().then((l) => plain.push(l)),
      () =>
        mirrorUnderLoad().then((r) => {
          during.push(r.latency);
          underLoad.push(r.syncedAfter);
          if (r.syncedDuringFio) console.log(`round ${round}: the mirror synced before fio ended (${r.syncedAfter.toFixed(2)} s)`);
        }),
    ];
    const timePair = [() => mirrorIdleSeconds().then((s) => idle.push(s)), () => nbdcopySeconds().then((s) => copy.push(s))];
    for (const step of round % 2 === 0 ? latencyPair : latencyPair.reverse()) await step();
    for (const step of round % 2 === 0 ? timePair : timePair.reverse()) await step();
    console.log(
      `round ${round}: fio p99 r/w µs plain ${plain.at(-1)!.readP99.toFixed(0)}/${plain.at(-1)!.writeP99.toFixed(0)}` +
        ` mirror ${during.at(-1)!.readP99.toFixed(0)}/${during.at(-1)!.writeP99.toFixed(0)};` +
        ` synced under fio after ${underLoad.at(-1)!.toFixed(2)} s; idle ${idle.at(-1)!.toFixed(2)} s, nbdcopy ${copy.at(-1)!.toFixed(2)} s`,
    );
  }
  for (const side of ['read', 'write'] as const) {
    const key = side === 'read' ? 'readP99' : 'writeP99';
    rows.push({
      name: `e2e: fio 4 KiB randrw QD8 ${side} p99 while mirroring 1 GiB onto nbdkit`,
      unit: 'µs',
      value: median(during.map((l) => l[key])),
      anchor: 'same fio, plain serve, no mirror',
      anchorValue: median(plain.map((l) => l[key])),
      higherIsBetter: false,
      target: 0.5,
    });
  }
  rows.push({
    name: 'e2e: mirror 1 GiB image onto nbdkit memory, no client: → synced',
    unit: 's',
    value: median(idle),
    anchor: 'nbdcopy image → nbdkit memory',
    anchorValue: median(copy),
    higherIsBetter: false,
    target: 0.8,
  });
  console.log(
    `time to synced with fio running throughout the copy: median ${median(underLoad).toFixed(2)} s (${underLoad.map((s) => s.toFixed(2)).join(' ')})`,
  );
} finally {
  rmSync(image, { force: true });
  dir.remove();
}

reportBench('@blk/mirror end to end', rows);
