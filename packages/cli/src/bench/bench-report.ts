import { formatBytes } from '../size.js';
import type { BenchResult } from './workloads.js';

/** What was benchmarked, printed once above the rows. */
export interface BenchHeader {
  readonly spec: string;
  readonly sizeBytes: number;
  readonly sectorSize: number;
  readonly spanBytes: number;
  readonly seconds: number;
  readonly requests: number | undefined;
}

const COLUMNS = [
  ['workload', 14],
  ['block', 7],
  ['depth', 5],
  ['IOPS', 9],
  ['bandwidth', 12],
  ['p50', 9],
  ['p90', 9],
  ['p99', 9],
  ['p99.9', 9],
  ['max', 9],
] as const;

function line(cells: readonly string[]): string {
  return (
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(COLUMNS[i][1]) : cell.padStart(COLUMNS[i]![1])))
      .join('  ')
      .trimEnd() + '\n'
  );
}

/** 850 ns, 12.3 µs, 1.20 ms, 2.50 s. */
export function formatLatency(ns: number): string {
  if (!Number.isFinite(ns)) return '-';
  if (ns < 1e3) return `${Math.round(ns)} ns`;
  const [value, unit] = ns < 1e6 ? [ns / 1e3, 'µs'] : ns < 1e9 ? [ns / 1e6, 'ms'] : [ns / 1e9, 's'];
  return `${value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2)} ${unit}`;
}

function formatCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(0);
}

export function renderBenchHeader(h: BenchHeader): string {
  const limit = `${h.seconds} s${h.requests === undefined ? '' : ` or ${h.requests} requests`} per workload`;
  const span = h.spanBytes === h.sizeBytes ? 'all of it' : `the first ${formatBytes(h.spanBytes)}`;
  return `blk bench: ${h.spec}: ${formatBytes(h.sizeBytes)} in ${h.sectorSize}-byte sectors, ${span}; ${limit}\n${line(COLUMNS.map(([name]) => name))}`;
}

export function renderBenchRow(r: BenchResult): string {
  const l = r.latencyNs;
  return line([
    r.workload.name,
    formatBytes(r.workload.blockBytes).replace('.00 ', ' '),
    String(r.workload.depth),
    formatCount(r.iops),
    `${formatBytes(r.bytesPerSecond)}/s`,
    formatLatency(l.p50),
    formatLatency(l.p90),
    formatLatency(l.p99),
    formatLatency(l.p999),
    formatLatency(l.max),
  ]);
}

/** The `--json` document: the header, then every workload's figures (latencies in ns). */
export function benchJson(h: BenchHeader, results: readonly BenchResult[]): object {
  return {
    ...h,
    workloads: results.map((r) => ({
      name: r.workload.name,
      blockBytes: r.workload.blockBytes,
      depth: r.workload.depth,
      random: r.workload.random,
      write: r.workload.write,
      ops: r.ops,
      seconds: r.seconds,
      iops: r.iops,
      bytesPerSecond: r.bytesPerSecond,
      latencyNs: r.latencyNs,
    })),
  };
}
