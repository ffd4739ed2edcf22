import { appendFileSync } from 'node:fs';

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The p-th percentile (0–100) by nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/**
 * Runs `step` (which does `unitsPerStep` units of work: bytes, ops…) repeatedly for at least
 * `minMs` and returns units per second.
 */
export async function rate(step: () => unknown, unitsPerStep: number, minMs = 250): Promise<number> {
  let units = 0;
  const start = performance.now();
  let elapsed: number;
  do {
    await step();
    units += unitsPerStep;
    elapsed = performance.now() - start;
  } while (elapsed < minMs);
  return (units * 1000) / elapsed;
}

/** Runs subject and anchor alternately (A B A B …) `rounds` times and keeps every sample. */
export async function interleave(
  rounds: number,
  subject: () => Promise<number>,
  anchor: () => Promise<number>,
): Promise<{ subject: number[]; anchor: number[] }> {
  const out = { subject: [] as number[], anchor: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    out.subject.push(await subject());
    out.anchor.push(await anchor());
  }
  return out;
}

export interface BenchRow {
  /** What was measured, e.g. "ramdisk 1 MiB sequential write". */
  readonly name: string;
  readonly unit: string;
  /** Median of the subject's samples. */
  readonly value: number;
  readonly anchor: string;
  /** Median of the anchor's samples, measured in the same run. */
  readonly anchorValue: number;
  /** False for latencies and times. */
  readonly higherIsBetter: boolean;
  /** The ratio the issue asks for ("≥ 0.8"), compared against `ratio`. */
  readonly target?: number | undefined;
}

/** Subject relative to anchor, > 1 meaning the subject is better whichever way "better" points. */
export function ratioOf(row: BenchRow): number {
  return row.higherIsBetter ? row.value / row.anchorValue : row.anchorValue / row.value;
}

function format(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (abs >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  if (abs >= 100) return n.toFixed(0);
  return n.toPrecision(3);
}

/**
 * Prints the rows as an aligned table (subject, anchor, ratio, target) and, when BLK_BENCH_JSON
 * names a file, appends one JSON line per row there for `blk bench` to gather.
 */
export function reportBench(pkg: string, rows: readonly BenchRow[]): void {
  const lines = rows.map((row) => {
    const ratio = ratioOf(row);
    const target = row.target === undefined ? '' : String(+row.target.toFixed(2));
    const verdict = row.target === undefined ? '' : ratio >= row.target ? `≥ ${target} ok` : `< ${target} MISSED`;
    return [
      row.name,
      `${format(row.value)} ${row.unit}`,
      row.anchor,
      `${format(row.anchorValue)} ${row.unit}`,
      `${ratio.toFixed(2)}×`,
      verdict,
    ];
  });
  const header = ['benchmark', 'median', 'anchor', 'anchor median', 'ratio', 'target'];
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const render = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  console.log(`\n${pkg}`);
  console.log(render(header));
  console.log(render(widths.map((w) => '-'.repeat(w))));
  for (const line of lines) console.log(render(line));
  const file = process.env.BLK_BENCH_JSON;
  if (file) {
    for (const row of rows) appendFileSync(file, JSON.stringify({ package: pkg, ...row, ratio: ratioOf(row) }) + '\n');
  }
}
