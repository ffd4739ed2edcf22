/** A parsed `Content-Range` header: `bytes FIRST-LAST/TOTAL`, or `bytes * /TOTAL` (unsatisfied). */
export interface ContentRange {
  /** First and last byte of the part, inclusive; absent for `bytes * /TOTAL`. */
  readonly first?: number;
  readonly last?: number;
  /** The whole representation's length; undefined when the server wrote `*`. */
  readonly total: number | undefined;
}

const RANGE = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i;
const UNSATISFIED = /^bytes\s+\*\/(\d+)$/i;

function safe(text: string): number | undefined {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Reads a `Content-Range` value (RFC 9110 §14.4); undefined when it is not one. */
export function parseContentRange(value: string | null): ContentRange | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  const unsatisfied = UNSATISFIED.exec(text);
  if (unsatisfied) {
    const total = safe(unsatisfied[1]!);
    return total === undefined ? undefined : { total };
  }
  const match = RANGE.exec(text);
  if (!match) return undefined;
  const first = safe(match[1]!);
  const last = safe(match[2]!);
  const total = match[3] === '*' ? undefined : safe(match[3]!);
  if (first === undefined || last === undefined || last < first) return undefined;
  if (match[3] !== '*' && (total === undefined || last >= total)) return undefined;
  return { first, last, total };
}

/** The `Range` header value for bytes [start, end). */
export function rangeHeader(start: number, end: number): string {
  return `bytes=${start}-${end - 1}`;
}
