/** One row as `reportBench` (in @blk/test-kit) appends it to the file named by BLK_BENCH_JSON. */
export interface BenchRecord {
  readonly package: string;
  readonly name: string;
  readonly unit: string;
  readonly value: number;
  readonly anchor: string;
  readonly anchorValue: number;
  readonly higherIsBetter: boolean;
  readonly target?: number;
  /** Subject relative to anchor, > 1 meaning the subject is better. */
  readonly ratio: number;
}

function isRecord(value: unknown): value is BenchRecord {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.package === 'string' &&
    typeof v.name === 'string' &&
    typeof v.unit === 'string' &&
    typeof v.value === 'number' &&
    typeof v.anchor === 'string' &&
    typeof v.anchorValue === 'number' &&
    typeof v.higherIsBetter === 'boolean' &&
    typeof v.ratio === 'number' &&
    (v.target === undefined || typeof v.target === 'number')
  );
}

/** Reads JSON lines; a line that is not a row is reported in `rejected` (1-based line numbers). */
export function parseBenchRecords(text: string): { records: BenchRecord[]; rejected: number[] } {
  const records: BenchRecord[] = [];
  const rejected: number[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      rejected.push(index + 1);
      return;
    }
    if (isRecord(parsed)) records.push(parsed);
    else rejected.push(index + 1);
  });
  return { records, rejected };
}

/** `met` when the ratio reaches the target, `missed` when not, undefined without a target. */
export function verdictOf(record: BenchRecord): 'met' | 'missed' | undefined {
  if (record.target === undefined) return undefined;
  return record.ratio >= record.target ? 'met' : 'missed';
}
