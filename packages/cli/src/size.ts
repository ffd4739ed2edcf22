import { UsageError } from './cli-error.js';

const KiB = 1024n;
/**
 * Binary multiples for K, M, G, T, P with or without `iB` (as qemu-img and nbdkit read `1G`), and
 * decimal ones for KB, MB, GB, TB, PB (as dd reads them). Case does not matter.
 */
const MULTIPLIERS: ReadonlyMap<string, bigint> = new Map([
  ['', 1n],
  ['b', 1n],
  ['k', KiB],
  ['kib', KiB],
  ['m', KiB ** 2n],
  ['mib', KiB ** 2n],
  ['g', KiB ** 3n],
  ['gib', KiB ** 3n],
  ['t', KiB ** 4n],
  ['tib', KiB ** 4n],
  ['p', KiB ** 5n],
  ['pib', KiB ** 5n],
  ['kb', 1000n],
  ['mb', 1000n ** 2n],
  ['gb', 1000n ** 3n],
  ['tb', 1000n ** 4n],
  ['pb', 1000n ** 5n],
]);

const SIZE_PATTERN = /^(\d+)(?:\.(\d+))?\s*([a-z]*)$/i;

/**
 * Reads a byte count such as `1GiB`, `512M`, `1.5G`, `4096` or `10GB`. The result is a whole,
 * safe number of bytes; anything else is a UsageError naming what was wrong.
 */
export function parseSize(text: string): number {
  const match = SIZE_PATTERN.exec(text.trim());
  if (!match) {
    throw new UsageError(`bad size '${text}': expected a number with an optional suffix K, M, G, T, P (or KiB… / KB…)`);
  }
  const [, whole = '', fraction = '', suffix = ''] = match;
  const multiplier = MULTIPLIERS.get(suffix.toLowerCase());
  if (multiplier === undefined) {
    throw new UsageError(`bad size '${text}': unknown suffix '${suffix}' (use K, M, G, T, P, KiB…, KB… or B)`);
  }
  const scale = 10n ** BigInt(fraction.length);
  const scaled = (BigInt(whole) * scale + BigInt(fraction || '0')) * multiplier;
  if (scaled % scale !== 0n) throw new UsageError(`bad size '${text}': not a whole number of bytes`);
  const bytes = scaled / scale;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw new UsageError(`bad size '${text}': larger than 2^53 - 1 bytes`);
  return Number(bytes);
}

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** `1.00 GiB`, `512 B`, `1.50 MiB`: three significant figures, binary units. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return `${bytes} B`;
  if (Math.abs(bytes) < 1024) return `${bytes} B`;
  let value = bytes;
  let unit = 'B';
  for (const next of UNITS) {
    if (Math.abs(value) < 1024) break;
    value /= 1024;
    unit = next;
  }
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${unit}`;
}

/** The shortest exact way to write `bytes` with a binary suffix: `1GiB`, `1536KiB`, `1000`. */
export function formatSizeExact(bytes: number): string {
  for (let i = UNITS.length - 1; i >= 0; i--) {
    const unit = 1024 ** (i + 1);
    if (bytes >= unit && bytes % unit === 0) return `${bytes / unit}${UNITS[i]!}`;
  }
  return String(bytes);
}
