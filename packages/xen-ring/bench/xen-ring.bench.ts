// pnpm bench: Blkfront → shared ring → Blkback → Ramdisk in a worker thread, against the same
// requests carried by postMessage between the main thread and a worker, and against a direct
// in-thread call on a Ramdisk, interleaved in one run. Runs against the built package (dist).
import { Ramdisk } from '@blk/ramdisk';
import { STANDARD_WORKLOADS, benchWorkloads, deviceTarget, prefill, reportBench, type BenchRow } from '@blk/test-kit';
import { connectWorker } from '../dist/index.js';
import { postMessageTarget } from './post-message-target.js';

const SPAN = 64 << 20;
const SECTORS = SPAN / 512;
const rounds = Number(process.env.BLK_BENCH_ROUNDS ?? 5);
const minMs = Number(process.env.BLK_BENCH_MS ?? 300);
const only = process.env.BLK_BENCH_ONLY;

const workloads = STANDARD_WORKLOADS.filter((w) => (w.random ? w.inFlight === 32 : true)).filter(
  (w) => only === undefined || w.name.includes(only),
);

const front = await connectWorker(
  { module: '@blk/ramdisk', export: 'Ramdisk', options: { sizeSectors: SECTORS } },
  { from: import.meta.url },
);
const ring = deviceTarget(front, 512);
const posted = postMessageTarget(SECTORS);
const inThread = deviceTarget(new Ramdisk({ sizeSectors: SECTORS }), 512);
for (const target of [ring, posted, inThread]) await prefill(target, SPAN);

const rows: BenchRow[] = await benchWorkloads({
  subject: { name: 'xen-ring', target: ring },
  spanBytes: SPAN,
  workloads,
  rounds,
  minMs,
  anchors: [
    { name: 'postMessage worker', target: posted, goal: (w) => (w.random ? 5 : undefined) },
    { name: 'in-thread Ramdisk', target: inThread, goal: (w) => (w.random ? undefined : 0.5) },
  ],
});
reportBench('@blk/xen-ring', rows);
await front.disconnect();
await posted.close();
