import { interleave, median, type BenchRow } from './bench.js';
import type { BlockDevice } from '@blk/core';

/** Anything the standard workloads can drive: byte-addressed reads and writes. */
export interface WorkloadTarget {
  read(offset: number, buffer: Uint8Array): Promise<void> | void;
  write(offset: number, buffer: Uint8Array): Promise<void> | void;
}

export interface Workload {
  readonly name: string;
  readonly blockBytes: number;
  readonly random: boolean;
  readonly write: boolean;
  /** Requests kept in flight. */
  readonly inFlight: number;
}

const MiB = 1 << 20;

/** 1 MiB sequential and 4 KiB random, reads and writes, one and 32 in flight. */
export const STANDARD_WORKLOADS: readonly Workload[] = [
  { name: '1 MiB sequential write', blockBytes: MiB, random: false, write: true, inFlight: 1 },
  { name: '1 MiB sequential read', blockBytes: MiB, random: false, write: false, inFlight: 1 },
  { name: '4 KiB random write QD1', blockBytes: 4096, random: true, write: true, inFlight: 1 },
  { name: '4 KiB random read QD1', blockBytes: 4096, random: true, write: false, inFlight: 1 },
  { name: '4 KiB random write QD32', blockBytes: 4096, random: true, write: true, inFlight: 32 },
  { name: '4 KiB random read QD32', blockBytes: 4096, random: true, write: false, inFlight: 32 },
];

/** Adapts a BlockDevice to byte offsets (offsets and lengths are whole sectors). */
export function deviceTarget(device: BlockDevice, sectorSize: number): WorkloadTarget {
  return {
    read: (offset, buffer) => device.read(offset / sectorSize, [buffer]),
    write: (offset, buffer) => device.write(offset / sectorSize, [buffer]),
  };
}

/** The memcpy limit: the same requests served by `Buffer.copy` into and out of one big buffer. */
export function memcpyTarget(spanBytes: number): WorkloadTarget {
  const store = Buffer.alloc(spanBytes);
  return {
    read: (offset, buffer) => {
      store.copy(buffer, 0, offset, offset + buffer.byteLength);
    },
    write: (offset, buffer) => {
      Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength).copy(store, offset);
    },
  };
}

/**
 * Runs one workload over the first `spanBytes` of the target for at least `minMs` and returns
 * its rate: bytes per second for sequential workloads, operations per second for random ones.
 */
export async function runWorkload(target: WorkloadTarget, workload: Workload, spanBytes: number, minMs = 300): Promise<number> {
  const blocks = Math.floor(spanBytes / workload.blockBytes);
  const offsets = new Float64Array(4096);
  let seed = 0x2545f491;
  for (let i = 0; i < offsets.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    offsets[i] = (workload.random ? seed % blocks : i % blocks) * workload.blockBytes;
  }
  const fill = (buffer: Uint8Array, i: number) => buffer.fill((i & 0xfe) + 1);
  let next = 0;
  let ops = 0;
  const start = performance.now();
  const deadline = start + minMs;
  const lane = async () => {
    const buffer = new Uint8Array(workload.blockBytes);
    fill(buffer, next);
    while (performance.now() < deadline) {
      const offset = offsets[next++ & 4095]!;
      if (workload.write) await target.write(offset, buffer);
      else await target.read(offset, buffer);
      ops++;
    }
  };
  await Promise.all(Array.from({ length: workload.inFlight }, lane));
  const seconds = (performance.now() - start) / 1000;
  return workload.random ? ops / seconds : (ops * workload.blockBytes) / seconds;
}

/** Writes the whole span once so reads hit allocated storage. */
export async function prefill(target: WorkloadTarget, spanBytes: number): Promise<void> {
  const chunk = new Uint8Array(MiB).fill(0x5a);
  for (let offset = 0; offset < spanBytes; offset += MiB) {
    await target.write(offset, chunk.subarray(0, Math.min(MiB, spanBytes - offset)));
  }
}

export interface WorkloadAnchor {
  readonly name: string;
  readonly target: WorkloadTarget;
  /** Which workloads this anchor is measured on (default: all). */
  readonly applies?: (workload: Workload) => boolean;
  /** The ratio the subject should reach on a workload, if any. */
  readonly goal?: (workload: Workload) => number | undefined;
}

/**
 * Measures the subject against each anchor on each workload, interleaved subject/anchor for
 * `rounds` rounds, and returns one row per (workload, anchor) with the medians.
 */
export async function benchWorkloads(options: {
  readonly subject: { readonly name: string; readonly target: WorkloadTarget };
  readonly anchors: readonly WorkloadAnchor[];
  readonly spanBytes: number;
  readonly workloads?: readonly Workload[];
  readonly rounds?: number;
  readonly minMs?: number;
}): Promise<BenchRow[]> {
  const { subject, anchors, spanBytes, rounds = 5, minMs = 300 } = options;
  const rows: BenchRow[] = [];
  for (const workload of options.workloads ?? STANDARD_WORKLOADS) {
    for (const anchor of anchors) {
      if (anchor.applies && !anchor.applies(workload)) continue;
      const scale = workload.random ? 1 : 1 / MiB;
      const samples = await interleave(
        rounds,
        async () => (await runWorkload(subject.target, workload, spanBytes, minMs)) * scale,
        async () => (await runWorkload(anchor.target, workload, spanBytes, minMs)) * scale,
      );
      const target = anchor.goal?.(workload);
      rows.push({
        name: `${subject.name} ${workload.name}`,
        unit: workload.random ? 'ops/s' : 'MiB/s',
        value: median(samples.subject),
        anchor: anchor.name,
        anchorValue: median(samples.anchor),
        higherIsBetter: true,
        target,
      });
    }
  }
  return rows;
}
