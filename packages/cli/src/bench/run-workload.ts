import type { BlockDevice } from '@blk/core';
import { LatencyHistogram } from './latency-histogram.js';
import type { BenchResult, BenchWorkload } from './workloads.js';

export interface RunLimits {
  /** Stop issuing requests after this many milliseconds. */
  readonly ms: number;
  /** …or after this many requests, whichever comes first. */
  readonly requests: number;
  /** Bytes of the device the workload touches, from offset 0: a whole number of blocks. */
  readonly spanBytes: number;
  readonly sectorSize: number;
  /** Stops the workload early (requests in flight still complete and count). */
  readonly signal?: AbortSignal;
}

/** xorshift128+ seeded the same every run: the same offsets every time, 53 random bits each. */
function randomSource(): () => number {
  let s0 = 0x9e3779b9 | 0;
  let s1 = 0x7f4a7c15 | 0;
  let s2 = 0x85ebca6b | 0;
  let s3 = 0xc2b2ae35 | 0;
  const next32 = () => {
    const t = s0 ^ (s0 << 11);
    s0 = s1;
    s1 = s2;
    s2 = s3;
    s3 = s3 ^ (s3 >>> 19) ^ t ^ (t >>> 8);
    return s3 >>> 0;
  };
  return () => ((next32() >>> 5) * 67108864 + (next32() >>> 6)) / 9007199254740992;
}

/**
 * Runs one workload on `device`: `depth` lanes, each issuing one request at a time, sequential
 * lanes sharing one cursor that wraps at the span, random ones picking aligned blocks. Every
 * request's latency goes into a histogram; IOPS and bandwidth are over the whole run.
 */
export async function runWorkload(device: BlockDevice, workload: BenchWorkload, limits: RunLimits): Promise<BenchResult> {
  const blocks = Math.floor(limits.spanBytes / workload.blockBytes);
  const sectorsPerBlock = workload.blockBytes / limits.sectorSize;
  const random = randomSource();
  const histogram = new LatencyHistogram();
  let cursor = 0;
  let issued = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(limits.ms * 1e6));
  const lane = async (index: number) => {
    const buffer = new Uint8Array(workload.blockBytes).fill(0xa5 ^ index);
    const buffers = [buffer];
    while (issued < limits.requests && limits.signal?.aborted !== true) {
      const before = process.hrtime.bigint();
      if (before >= deadline) break;
      issued++;
      const block = workload.random ? Math.floor(random() * blocks) : cursor++ % blocks;
      const sector = block * sectorsPerBlock;
      if (workload.write) await device.write(sector, buffers);
      else await device.read(sector, buffers);
      histogram.record(Number(process.hrtime.bigint() - before));
    }
  };
  await Promise.all(Array.from({ length: workload.depth }, (_, i) => lane(i)));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const ops = histogram.count;
  return {
    workload,
    ops,
    seconds,
    iops: seconds > 0 ? ops / seconds : 0,
    bytesPerSecond: seconds > 0 ? (ops * workload.blockBytes) / seconds : 0,
    latencyNs: {
      min: histogram.min,
      mean: histogram.mean,
      p50: histogram.percentile(50),
      p90: histogram.percentile(90),
      p99: histogram.percentile(99),
      p999: histogram.percentile(99.9),
      max: histogram.max,
    },
  };
}
