/** C's `atoi` read as unsigned, as xenstored parses domids: leading digits (with sign), anything else 0. */
export function atoiUnsigned(text: string): number {
  const m = /^\s*([+-]?\d+)/.exec(text);
  if (!m) return 0;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n >>> 0 : 0;
}

/** C's `atoi` (signed), for gfn and event channel numbers. */
export function atoiSigned(text: string): number {
  const m = /^\s*([+-]?\d+)/.exec(text);
  return m ? Number(m[1]) : 0;
}
