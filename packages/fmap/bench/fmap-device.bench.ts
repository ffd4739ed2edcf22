// 4 KiB random reads and writes through the fmap device (a thin disk in a BlockFile), with 4 KiB
// and with the default 64 KiB units, against the raw file device on a file of the same size
// (its default thread-pool io, and io 'sync', which like the fmap device runs on the calling
// thread), interleaved in the same run. All are prefilled, so writes overwrite allocated units.
// Run: pnpm --filter @blk/fmap bench
import { cpus } from 'node:os';
import { join } from 'node:path';
import { STANDARD_WORKLOADS, benchWorkloads, deviceTarget, makeTempDir, prefill, reportBench, type BenchRow } from '@blk/test-kit';
import { DEFAULT_FMAP_BLOCK_SIZE, openFileDevice, openFmapDevice } from '../src/index.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SPAN = 64 << 20;
const SECTORS = SPAN / 512;
const temp = makeTempDir('blk-fmap-device-bench-');
const workloads = STANDARD_WORKLOADS.filter((w) => w.blockBytes === 4096);

const raw = await openFileDevice(join(temp.path, 'raw.img'), { create: true, sizeSectors: SECTORS });
const rawTarget = deviceTarget(raw, 512);
await prefill(rawTarget, SPAN);
const rawSync = await openFileDevice(join(temp.path, 'raw.img'), { io: 'sync' });
const anchors = [
  { name: 'file device (raw file), same run', target: rawTarget },
  { name: "file device, io 'sync', same run", target: deviceTarget(rawSync, 512), applies: (w: { inFlight: number }) => w.inFlight === 1 },
];

const rows: BenchRow[] = [];
for (const blockSize of [4096, DEFAULT_FMAP_BLOCK_SIZE]) {
  const device = await openFmapDevice(join(temp.path, `thin-${blockSize}.fmap`), { create: { sizeSectors: SECTORS, blockSize } });
  const target = deviceTarget(device, 512);
  await prefill(target, SPAN);
  await device.flush();
  rows.push(
    ...(await benchWorkloads({
      subject: { name: `fmap device, ${blockSize / 1024} KiB units,`, target },
      anchors,
      spanBytes: SPAN,
      workloads,
      rounds: ROUNDS,
    })),
  );
  await device.disconnect();
}
await raw.disconnect();
await rawSync.disconnect();
reportBench('@blk/fmap', rows);
console.log(
  `\nmachine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}, ${ROUNDS} interleaved rounds, medians; 64 MiB span, pread engine (32 MiB cache)`,
);
temp.remove();
