/** One standard workload of `blk bench`, as fio or `qemu-img bench` would describe it. */
export interface BenchWorkload {
  readonly name: string;
  readonly blockBytes: number;
  readonly random: boolean;
  readonly write: boolean;
  /** Requests kept in flight (the queue depth). */
  readonly depth: number;
}

const MiB = 1 << 20;

/**
 * Writes before the reads of the same pattern, so that on a fresh device the reads meet data:
 * 1 MiB sequential at depth 4, 4 KiB random at depth 32 (throughput) and at depth 1 (latency).
 */
export const STANDARD_WORKLOADS: readonly BenchWorkload[] = [
  { name: 'seq-write', blockBytes: MiB, random: false, write: true, depth: 4 },
  { name: 'seq-read', blockBytes: MiB, random: false, write: false, depth: 4 },
  { name: 'rand-write', blockBytes: 4096, random: true, write: true, depth: 32 },
  { name: 'rand-read', blockBytes: 4096, random: true, write: false, depth: 32 },
  { name: 'rand-write-qd1', blockBytes: 4096, random: true, write: true, depth: 1 },
  { name: 'rand-read-qd1', blockBytes: 4096, random: true, write: false, depth: 1 },
];

/** Request latency in nanoseconds. */
export interface LatencySummary {
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

/** What one workload measured. */
export interface BenchResult {
  readonly workload: BenchWorkload;
  /** Requests completed. */
  readonly ops: number;
  readonly seconds: number;
  readonly iops: number;
  readonly bytesPerSecond: number;
  readonly latencyNs: LatencySummary;
}
