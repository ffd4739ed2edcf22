// pnpm bench: the overlay against the bare top device (the same kind of device, prefilled the same
// way), interleaved A B A B … in one run, on 4 KiB random and 1 MiB sequential reads and writes.
// "top": every block already copied up, so the overlay's cost is its map lookup and lock;
// "base": nothing copied up yet, reads fall through to the base. Memory (Ramdisk) and raw files.
import type { BlockDevice } from '@blk/core';
import { openFileDevice } from '@blk/fmap';
import { Ramdisk } from '@blk/ramdisk';
import {
  benchWorkloads,
  deviceTarget,
  makeTempDir,
  prefill,
  reportBench,
  STANDARD_WORKLOADS,
  type BenchRow,
  type Workload,
} from '@blk/test-kit';
import { join } from 'node:path';
import { overlay, overlayTopBytes } from '../src/index.js';

const SPAN = 128 << 20;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const GOAL = 0.8;
const pick = (names: readonly string[]): Workload[] => STANDARD_WORKLOADS.filter((w) => names.includes(w.name));
const ALL = pick([
  '1 MiB sequential write',
  '1 MiB sequential read',
  '4 KiB random write QD1',
  '4 KiB random read QD1',
  '4 KiB random read QD32',
  '4 KiB random write QD32',
]);
const READS = ALL.filter((w) => !w.write);

const temp = makeTempDir('blk-overlay-bench-');
let serial = 0;

async function file(bytes: number): Promise<BlockDevice> {
  return openFileDevice(join(temp.path, `f${++serial}.img`), { create: true, sizeSectors: bytes / 512 });
}

async function measure(kind: string, make: (bytes: number) => Promise<BlockDevice>): Promise<BenchRow[]> {
  const bare = await make(SPAN);
  const base = await make(SPAN);
  const bareTarget = deviceTarget(bare, 512);
  await prefill(bareTarget, SPAN);
  await prefill(deviceTarget(base, 512), SPAN);
  const rows: BenchRow[] = [];
  // Reads that fall through to the base: a fresh overlay over the filled base.
  const fresh = await overlay(base, await make(overlayTopBytes(SPAN)));
  rows.push(
    ...(await benchWorkloads({
      subject: { name: `overlay (${kind}, from base)`, target: deviceTarget(fresh, 512) },
      anchors: [{ name: `bare ${kind}`, target: bareTarget, goal: () => GOAL }],
      spanBytes: SPAN,
      workloads: READS,
      rounds: ROUNDS,
    })),
  );
  await fresh.disconnect();
  // Every block in the top: prefilled through the overlay, so the writes below change data in place.
  const full = await overlay(base, await make(overlayTopBytes(SPAN)));
  const fullTarget = deviceTarget(full, 512);
  await prefill(fullTarget, SPAN);
  rows.push(
    ...(await benchWorkloads({
      subject: { name: `overlay (${kind}, from top)`, target: fullTarget },
      anchors: [{ name: `bare ${kind}`, target: bareTarget, goal: () => GOAL }],
      spanBytes: SPAN,
      workloads: ALL,
      rounds: ROUNDS,
    })),
  );
  await full.disconnect();
  return rows;
}

try {
  const rows = [
    ...(await measure('Ramdisk', async (bytes) => new Ramdisk({ sizeSectors: bytes / 512 }))),
    ...(await measure('raw file', file)),
  ];
  reportBench('@blk/overlay', rows);
} finally {
  temp.remove();
}
