// pnpm bench (in headless Chromium, a dedicated worker): the OPFS device against the bare
// FileSystemSyncAccessHandle it wraps, on the same workloads, interleaved in one run.
import type { BlockDevice } from '@blk/core';
import { openOpfsDevice, removeOpfsDevice } from '../src/index.js';

interface SyncHandle {
  read(buffer: Uint8Array, options: { at: number }): number;
  write(buffer: Uint8Array, options: { at: number }): number;
  truncate(size: number): void;
  flush(): void;
  close(): void;
}
interface Directory {
  getFileHandle(name: string, options: { create: boolean }): Promise<{ createSyncAccessHandle(): Promise<SyncHandle> }>;
}

/** What a dedicated worker has that the Node typings do not describe. */
const worker = globalThis as unknown as {
  navigator: { storage: { getDirectory(): Promise<Directory> } };
  postMessage(message: unknown): void;
};

const SPAN = 64 << 20;
const ROUNDS = 5;
const MIN_MS = 200;

interface Workload {
  readonly name: string;
  readonly bytes: number;
  readonly random: boolean;
  readonly write: boolean;
}
const WORKLOADS: readonly Workload[] = [
  { name: '1 MiB sequential write', bytes: 1 << 20, random: false, write: true },
  { name: '1 MiB sequential read', bytes: 1 << 20, random: false, write: false },
  { name: '4 KiB random write', bytes: 4096, random: true, write: true },
  { name: '4 KiB random read', bytes: 4096, random: true, write: false },
];

type Io = (at: number, buffer: Uint8Array) => Promise<void> | void;

/** Bytes per second of `io` on the workload, over at least MIN_MS. */
async function rate(workload: Workload, io: Io): Promise<number> {
  const buffer = new Uint8Array(workload.bytes).fill(0x5a);
  const slots = SPAN / workload.bytes;
  let seed = 12345;
  let next = 0;
  let bytes = 0;
  const start = performance.now();
  let elapsed: number;
  do {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const slot = workload.random ? seed % slots : next++ % slots;
    await io(slot * workload.bytes, buffer);
    bytes += workload.bytes;
    elapsed = performance.now() - start;
  } while (elapsed < MIN_MS);
  return (bytes * 1000) / elapsed;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function run(): Promise<unknown[]> {
  await removeOpfsDevice('bench-device');
  const device: BlockDevice = await openOpfsDevice('bench-device', { sizeSectors: SPAN / 512 });
  const root = await worker.navigator.storage.getDirectory();
  const raw = await (await root.getFileHandle('bench-raw', { create: true })).createSyncAccessHandle();
  raw.truncate(SPAN);
  const rows: unknown[] = [];
  try {
    for (const workload of WORKLOADS) {
      const subject: Io = workload.write ? (at, b) => device.write(at / 512, [b]) : (at, b) => device.read(at / 512, [b]);
      const anchor: Io = workload.write ? (at, b) => void raw.write(b, { at }) : (at, b) => void raw.read(b, { at });
      const samples = { subject: [] as number[], anchor: [] as number[] };
      for (let round = 0; round < ROUNDS; round++) {
        samples.subject.push(await rate(workload, subject));
        samples.anchor.push(await rate(workload, anchor));
      }
      rows.push({
        name: `opfs ${workload.name}`,
        unit: 'MiB/s',
        value: median(samples.subject) / 2 ** 20,
        anchor: 'bare sync access handle',
        anchorValue: median(samples.anchor) / 2 ** 20,
        higherIsBetter: true,
        target: 0.8,
      });
    }
  } finally {
    await device.disconnect();
    raw.close();
    await removeOpfsDevice('bench-device');
    await removeOpfsDevice('bench-raw');
  }
  return rows;
}

run().then(
  (rows) => worker.postMessage({ rows }),
  (error: unknown) => worker.postMessage({ error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }),
);
