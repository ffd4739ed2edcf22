// pnpm bench: @blk/http against Debian's nginx on loopback, each figure beside its anchor measured
// in the same run, rounds interleaved (ours, fetch, anchor, ours, fetch, anchor…), medians and
// ratios printed.
// - sequential read of the whole image (1 MiB reads, one at a time, a fresh device each round)
//   against `curl -o /dev/null` downloading it from the same nginx;
// - 4 KiB random reads through fio's nbd engine: our device exported by @blk/nbd's server in this
//   process, against `nbdkit curl` reading the same URL.
// Each is measured twice: with Node's default transport (the device's own sockets), and with
// Node's fetch and the former defaults (64 KiB blocks, 8 MiB read-ahead), the device as it was
// before that transport, so the gain shows beside the goal.
// BLK_BENCH_QUICK=1 uses a 256 MiB image and shorter fio runs.
import { randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from '@blk/nbd';
import { findPeer, makeTempDir, median, reportBench, runOk, startNginx, startProcess, waitFor, type BenchRow } from '@blk/test-kit';
import { connect, type HttpOptions } from '../src/node.js';

const MiB = 1 << 20;
const quick = process.env.BLK_BENCH_QUICK === '1';
const SIZE = quick ? 256 * MiB : 1024 * MiB;
const ROUNDS = 3;
const FIO_SECONDS = quick ? 5 : 10;

const peers = {
  nginx: findPeer('nginx'),
  curl: findPeer('curl'),
  nbdkit: findPeer('nbdkit'),
  fio: findPeer('fio'),
  nbdinfo: findPeer('nbdinfo'),
};
const missing = Object.entries(peers)
  .filter(([, path]) => path === undefined)
  .map(([name]) => name);
if (missing.length > 0) throw new Error(`the @blk/http bench needs ${missing.join(', ')} (the Debian peers; see .ci/run)`);

const dir = makeTempDir('blk-http-bench-');
const www = join(dir.path, 'www');
mkdirSync(www);
const image = join(www, 'disk.img');
const fd = openSync(image, 'w');
const chunk = new Uint8Array(16 * MiB);
for (let at = 0; at < SIZE; at += chunk.byteLength) writeSync(fd, randomFillSync(chunk));
closeSync(fd);

const nginx = await startNginx({ root: www, dir: dir.path }, peers.nginx);
const url = `${nginx.url}/disk.img`;
const rows: BenchRow[] = [];
/** The device before its Node transport: Node's fetch, 64 KiB blocks, an 8 MiB read-ahead window. */
const FETCH: HttpOptions = { fetch: (input, init) => fetch(input, init), blockSize: 64 * 1024, readahead: 8 * MiB };

/** Runs each function in turn (A B C A B C …) `rounds` times and keeps every sample. */
async function interleaveAll(rounds: number, runs: readonly (() => Promise<number>)[]): Promise<number[][]> {
  const samples = runs.map(() => [] as number[]);
  for (let i = 0; i < rounds; i++) for (const [at, run] of runs.entries()) samples[at]!.push(await run());
  return samples;
}

const shown = (values: readonly number[]) => values.map((v) => v.toFixed(0)).join(' ');
const log = (text: string) => process.stderr.write(`${text}\n`);

async function ourSequential(options: HttpOptions = {}): Promise<number> {
  const start = performance.now();
  const device = await connect(url, options);
  const buffer = new Uint8Array(MiB);
  for (let sector = 0; sector < SIZE / 512; sector += MiB / 512) await device.read(sector, [buffer]);
  await device.disconnect();
  return SIZE / MiB / ((performance.now() - start) / 1000);
}

async function curlSequential(): Promise<number> {
  const start = performance.now();
  await runOk(peers.curl!, ['--silent', '--show-error', '--output', '/dev/null', url], { timeoutMs: 600_000 });
  return SIZE / MiB / ((performance.now() - start) / 1000);
}

async function fioRandom(uri: string, iodepth: number): Promise<number> {
  const { stdout } = await runOk(
    peers.fio!,
    [
      '--name=randread',
      '--ioengine=nbd',
      `--uri=${uri}`,
      '--rw=randread',
      '--bs=4k',
      `--iodepth=${iodepth}`,
      `--size=${SIZE}`,
      `--runtime=${FIO_SECONDS}`,
      '--time_based',
      '--ramp_time=1',
      '--output-format=json',
    ],
    { timeoutMs: (FIO_SECONDS + 60) * 1000 },
  );
  const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as { jobs: { read: { iops: number } }[] };
  return report.jobs[0]!.read.iops;
}

let serial = 0;

/** Our device behind @blk/nbd's server on a Unix socket, fresh (cold cache) for each measurement. */
async function ourRandom(iodepth: number, options: HttpOptions = {}): Promise<number> {
  const device = await connect(url, options);
  const server = createServer({ exports: { '': device } });
  const address = await server.listen({ path: join(dir.path, `ours-${++serial}.sock`) });
  try {
    return await fioRandom(address.uri!, iodepth);
  } finally {
    await server.close();
    await device.disconnect();
  }
}

async function nbdkitRandom(iodepth: number): Promise<number> {
  // A fresh socket path each time: nbdkit stopped by a signal may leave its socket behind.
  const socket = join(dir.path, `nbdkit-${++serial}.sock`);
  const nbdkit = startProcess(peers.nbdkit!, ['-f', '-r', '-U', socket, 'curl', url]);
  const uri = `nbd+unix:///?socket=${socket}`;
  try {
    await waitFor(
      () =>
        runOk(peers.nbdinfo!, ['--can', 'connect', uri]).then(
          () => true,
          () => false,
        ),
      'nbdkit curl',
      20_000,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}; nbdkit said: ${nbdkit.output()}`, { cause: error });
    });
    return await fioRandom(uri, iodepth);
  } finally {
    await nbdkit.stop();
  }
}

try {
  const [seqOurs, seqFetch, seqCurl] = await interleaveAll(ROUNDS, [() => ourSequential(), () => ourSequential(FETCH), curlSequential]);
  log(`sequential MiB/s: ours ${shown(seqOurs!)}, fetch ${shown(seqFetch!)}, curl ${shown(seqCurl!)}`);
  for (const [how, values, target] of [
    ['', seqOurs!, 0.9],
    [', fetch, former defaults', seqFetch!, undefined],
  ] as const) {
    rows.push({
      name: `@blk/http ${SIZE / MiB} MiB sequential read (1 MiB reads, QD1${how})`,
      unit: 'MiB/s',
      value: median(values),
      anchor: 'curl -o /dev/null, same nginx',
      anchorValue: median(seqCurl!),
      higherIsBetter: true,
      ...(target === undefined ? {} : { target }),
    });
  }
  for (const iodepth of [1, 32]) {
    const [ours, viaFetch, nbdkit] = await interleaveAll(ROUNDS, [
      () => ourRandom(iodepth),
      () => ourRandom(iodepth, FETCH),
      () => nbdkitRandom(iodepth),
    ]);
    log(`random QD${iodepth} IOPS: ours ${shown(ours!)}, fetch ${shown(viaFetch!)}, nbdkit curl ${shown(nbdkit!)}`);
    for (const [how, values, target] of [
      ['', ours!, 1],
      [', fetch, former defaults', viaFetch!, undefined],
    ] as const) {
      rows.push({
        name: `@blk/http 4 KiB random read QD${iodepth}${how} (fio nbd engine, @blk/nbd server)`,
        unit: 'IOPS',
        value: median(values),
        anchor: 'nbdkit curl, same nginx, same fio job',
        anchorValue: median(nbdkit!),
        higherIsBetter: true,
        ...(target === undefined ? {} : { target }),
      });
    }
  }
  reportBench('@blk/http', rows);
} finally {
  await nginx.stop();
  dir.remove();
}
