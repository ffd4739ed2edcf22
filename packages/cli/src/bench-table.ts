import { verdictOf, type BenchRecord } from './bench-rows.js';

function figure(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (abs >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  if (abs >= 100) return n.toFixed(0);
  return n.toPrecision(3);
}

/**
 * One aligned table of every row: package, figure, its median, the anchor measured in the same
 * run, the anchor's median, the ratio (> 1 is better than the anchor) and the target verdict.
 */
export function renderBenchTable(records: readonly BenchRecord[]): string {
  const header = ['package', 'benchmark', 'median', 'anchor', 'anchor median', 'ratio', 'target'];
  const rows = records.map((r) => {
    const verdict = verdictOf(r);
    return [
      r.package,
      r.name,
      `${figure(r.value)} ${r.unit}`,
      r.anchor,
      `${figure(r.anchorValue)} ${r.unit}`,
      `${r.ratio.toFixed(2)}×`,
      verdict === undefined ? '' : verdict === 'met' ? `≥ ${+r.target!.toFixed(2)} ok` : `< ${+r.target!.toFixed(2)} MISSED`,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const render = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [render(header), render(widths.map((w) => '-'.repeat(w))), ...rows.map(render)].join('\n') + '\n';
}
