// pnpm bench: time to `synced` for a 1 GiB ramdisk (dense and 10 % mapped) against core.copy of
// the same devices; 4 KiB client write latency during the copy (dense and 10 % mapped) against the
// same writes on the idle primary; the cost of a write on a synced mirror against one write on a
// ramdisk. Interleaved round by round in one run, medians.
import { copy, type BlockDevice } from '@blk/core';
import { Ramdisk } from '@blk/ramdisk';
import { median, percentile, reportBench, type BenchRow } from '@blk/test-kit';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { connect, type MirrorOptions } from '../src/index.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const ROUNDS = Number(process.env.MIRROR_BENCH_ROUNDS ?? 8);
const gc = (globalThis as { gc?: () => void }).gc;

/**
 * A full collection, then a pause so that the collector's follow-up tasks run now rather than in
 * the next sample: they would land only in samples that yield to the event loop (the mirror does,
 * core.copy does not) and skew the comparison.
 */
async function collect(): Promise<void> {
  gc?.();
  await sleep(30);
}

async function primaryDisk(mappedEvery: number): Promise<Ramdisk> {
  const disk = new Ramdisk({ sizeSectors: GiB / 512 });
  const chunk = new Uint8Array(MiB);
  for (let offset = 0, i = 0; offset < GiB; offset += MiB * mappedEvery, i++) {
    chunk.fill((i % 250) + 1);
    await disk.write(offset / 512, [chunk]);
  }
  return disk;
}

const freshSecondary = () => new Ramdisk({ sizeSectors: GiB / 512 });

async function timeToSynced(primary: BlockDevice, options: MirrorOptions): Promise<number> {
  const secondary = freshSecondary();
  const start = performance.now();
  const mirror = await connect(primary, secondary, options);
  await mirror.synced;
  const seconds = (performance.now() - start) / 1000;
  await mirror.disconnect();
  return seconds;
}

async function timeToCopy(primary: BlockDevice): Promise<number> {
  const secondary = freshSecondary();
  const start = performance.now();
  await copy(primary, secondary);
  return (performance.now() - start) / 1000;
}

/** Random 4 KiB-aligned offsets, the same for subject and anchor. */
const offsets = (() => {
  let seed = 0x2545f491;
  return Array.from({ length: 1 << 16 }, () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed % (GiB / 4096)) * 4096;
  });
})();

/**
 * Issues 4 KiB writes one at a time, each from a fresh turn of the event loop (as requests that
 * arrive from a socket would), until `stop()` or `limit` writes; returns each write's latency in µs.
 */
async function writeLatencies(device: BlockDevice, stop: () => boolean, limit: number): Promise<number[]> {
  const buffer = new Uint8Array(4096).fill(0x77);
  const latencies: number[] = [];
  for (let i = 0; i < limit && !stop(); i++) {
    await nextTurn();
    const start = performance.now();
    await device.write(offsets[i % offsets.length]! / 512, [buffer]);
    latencies.push((performance.now() - start) * 1000);
  }
  return latencies;
}

/** Latencies of writes during the copy, then of as many writes on the same mirror once synced. */
async function mirrorLatencies(primary: BlockDevice): Promise<{ during: number[]; synced: number[] }> {
  const mirror = await connect(primary, freshSecondary());
  let done = false;
  void mirror.synced.then(() => (done = true));
  const during = await writeLatencies(mirror, () => done, offsets.length);
  await mirror.synced;
  const synced = await writeLatencies(mirror, () => false, during.length);
  await mirror.disconnect();
  return { during, synced };
}

const rows: BenchRow[] = [];

for (const [label, every, options] of [
  ['dense', 1, {}],
  ['10 %-mapped', 10, {}],
] as const) {
  const primary = await primaryDisk(every);
  const mirrorSeconds: number[] = [];
  const copySeconds: number[] = [];
  // A B B A … so that neither side always runs first after a collection.
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? [true, false] : [false, true];
    for (const mirrorFirst of order) {
      await collect();
      if (mirrorFirst) mirrorSeconds.push(await timeToSynced(primary, options));
      else copySeconds.push(await timeToCopy(primary));
    }
  }
  rows.push({
    name: `mirror 1 GiB ${label}: connect → synced`,
    unit: 'MiB/s',
    value: 1024 / median(mirrorSeconds),
    anchor: 'core.copy, same devices',
    anchorValue: 1024 / median(copySeconds),
    higherIsBetter: true,
    target: 0.9,
  });
  await primary.disconnect();
  await collect();
}

for (const [label, every] of [
  ['dense', 1],
  ['10 %-mapped', 10],
] as const) {
  const primary = await primaryDisk(every);
  const during = { p50: [] as number[], p99: [] as number[] };
  const idle = { p50: [] as number[], p99: [] as number[] };
  const synced: number[] = [];
  let writes = 0;
  for (let round = 0; round < ROUNDS; round++) {
    await collect();
    const subject = await mirrorLatencies(primary);
    writes += subject.during.length;
    during.p50.push(percentile(subject.during, 50));
    during.p99.push(percentile(subject.during, 99));
    synced.push(percentile(subject.synced, 99));
    const anchor = await writeLatencies(primary, () => false, subject.during.length);
    idle.p50.push(percentile(anchor, 50));
    idle.p99.push(percentile(anchor, 99));
  }
  const name = (p: string) => `4 KiB write ${p} during the copy, ${label} (${Math.round(writes / ROUNDS)} writes/round)`;
  for (const p of ['p50', 'p99'] as const) {
    rows.push({
      name: name(p),
      unit: 'µs',
      value: median(during[p]),
      anchor: 'same writes, idle ramdisk',
      anchorValue: median(idle[p]),
      higherIsBetter: false,
      // The goal is p99 ≤ 3× the idle latency; reportBench compares idle/during against 1/3.
      ...(p === 'p99' ? { target: 1 / 3 } : {}),
    });
  }
  rows.push({
    name: name('p99'),
    unit: 'µs',
    value: median(during.p99),
    anchor: 'same writes, same mirror synced',
    anchorValue: median(synced),
    higherIsBetter: false,
  });
  await primary.disconnect();
  await collect();
}

/** Mean time of `count` 4 KiB writes issued back to back (each awaited), in µs. */
async function writeCost(device: BlockDevice, count: number): Promise<number> {
  const buffer = new Uint8Array(4096).fill(0x55);
  const start = performance.now();
  for (let i = 0; i < count; i++) await device.write(offsets[i % offsets.length]! / 512, [buffer]);
  return ((performance.now() - start) * 1000) / count;
}

{
  // Both ramdisks fully written first, so neither side pays for page allocation.
  const primary = await primaryDisk(1);
  const secondary = await primaryDisk(1);
  const mirror = await connect(primary, secondary);
  await mirror.synced;
  const one: number[] = [];
  const both: number[] = [];
  for (let round = 0; round < ROUNDS * 2; round++) {
    one.push(await writeCost(primary, 50_000));
    both.push(await writeCost(mirror, 50_000));
  }
  rows.push({
    name: '4 KiB write on a synced mirror (mean of back-to-back writes)',
    unit: 'µs',
    value: median(both),
    anchor: 'one write on a ramdisk',
    anchorValue: median(one),
    higherIsBetter: false,
    target: 0.5,
  });
  await mirror.disconnect();
}

reportBench('@blk/mirror', rows);
if (!gc) console.log('(run with --expose-gc to free the ramdisks between rounds)');
