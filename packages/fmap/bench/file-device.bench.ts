// The file device (openFileDevice) on each of its engines against the raw synchronous fs loop:
// 4 KiB random reads and writes over a 64 MiB file already in the page cache, at queue depth 1
// (one request at a time) and 32 (32 in flight), each row interleaved with its anchor
// (A B A B …) in the same run, medians. The anchor is a plain loop of fs.readSync/fs.writeSync
// at random 4 KiB offsets of the same file: no promises, no queue depth.
// Run: pnpm --filter @blk/fmap bench   (or just this file: pnpm exec tsx bench/file-device.bench.ts)
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { interleave, makeTempDir, median, reportBench, type BenchRow } from '@blk/test-kit';
import { nativeStatus, openFileDevice, type FileDevice, type FileDeviceOptions } from '../src/index.js';

const ROUNDS = Math.max(3, Number(process.env.BENCH_ROUNDS ?? 5));
const MIN_MS = 200;
const BLOCK = 4096;
const BLOCKS = 16384; // 64 MiB
const SECTORS_PER_BLOCK = BLOCK / 512;
const TARGET = 0.8;
const temp = makeTempDir('blk-file-device-bench-');

let seed = 12345;
const random = (): number => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
};
const block = (): number => Math.floor(random() * BLOCKS);

/** The anchor: positioned 4 KiB syscalls in a tight loop, ops/s. */
function rawLoop(fd: number, write: boolean): Promise<number> {
  const buffer = Buffer.alloc(BLOCK, 3);
  let ops = 0;
  const start = performance.now();
  let elapsed: number;
  do {
    for (let i = 0; i < 64; i++) {
      if (write) writeSync(fd, buffer, 0, BLOCK, block() * BLOCK);
      else readSync(fd, buffer, 0, BLOCK, block() * BLOCK);
    }
    ops += 64;
    elapsed = performance.now() - start;
  } while (elapsed < MIN_MS);
  return Promise.resolve((ops * 1000) / elapsed);
}

/** `depth` lanes, each issuing its next request when the last one settles, ops/s. */
async function atDepth(depth: number, op: (buffer: Uint8Array) => Promise<void>): Promise<number> {
  let ops = 0;
  const start = performance.now();
  const end = start + MIN_MS;
  const lane = async (): Promise<void> => {
    const buffer = new Uint8Array(BLOCK).fill(5);
    while (performance.now() < end) {
      await op(buffer);
      ops++;
    }
  };
  await Promise.all(Array.from({ length: depth }, lane));
  return (ops * 1000) / (performance.now() - start);
}

const path = join(temp.path, 'device.img');
{
  const fd = openSync(path, 'w+');
  const chunk = Buffer.alloc(1 << 20, 7);
  for (let i = 0; i < (BLOCKS * BLOCK) / chunk.length; i++) writeSync(fd, chunk, 0, chunk.length, i * chunk.length);
  closeSync(fd);
}
const anchorFd = openSync(path, 'r+');

const engines: { label: string; options: FileDeviceOptions }[] = [];
if (nativeStatus().available) {
  engines.push({ label: 'default io (addon)', options: {} });
  engines.push({ label: 'addon, inlineWrites: false', options: { inlineWrites: false } });
}
engines.push({ label: 'default io, no addon', options: { native: false } });
engines.push({ label: "io 'sync'", options: { io: 'sync' } });

const rows: BenchRow[] = [];
for (const { label, options } of engines) {
  const device: FileDevice = await openFileDevice(path, options);
  for (const write of [false, true]) {
    for (const depth of [1, 32]) {
      const op = write
        ? (buffer: Uint8Array) => device.write(block() * SECTORS_PER_BLOCK, [buffer])
        : (buffer: Uint8Array) => device.read(block() * SECTORS_PER_BLOCK, [buffer]);
      const samples = await interleave(
        ROUNDS,
        () => atDepth(depth, op),
        () => rawLoop(anchorFd, write),
      );
      rows.push({
        name: `file device [${device.ioEngine}] ${label}: 4 KiB random ${write ? 'write' : 'read'} QD${depth}`,
        unit: 'ops/s',
        value: median(samples.subject),
        anchor: `fs.${write ? 'write' : 'read'}Sync loop`,
        anchorValue: median(samples.anchor),
        higherIsBetter: true,
        ...(depth === 32 && label !== "io 'sync'" && options.inlineWrites !== false ? { target: TARGET } : {}),
      });
    }
  }
  await device.disconnect();
}
closeSync(anchorFd);
reportBench('@blk/fmap file device', rows);
console.log(`\nmachine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}, ${ROUNDS} interleaved rounds, medians`);
temp.remove();
