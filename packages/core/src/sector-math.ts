import type { BlockInfo } from './block-device.js';
import { BlockError } from './block-error.js';

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Least common multiple of two sector sizes: the smallest byte run both devices can address. */
export function lcm(a: number, b: number): number {
  return (a / gcd(a, b)) * b;
}

/** Device length in bytes, refused when it would not be a safe integer. */
export function deviceBytes(info: BlockInfo): number {
  const bytes = info.sizeSectors * info.sectorSize;
  if (!Number.isSafeInteger(bytes)) {
    throw new BlockError('INVALID_ARGUMENT', `device of ${info.sizeSectors} × ${info.sectorSize} bytes is too large`);
  }
  return bytes;
}

/** A chunk length close to `wanted`, a whole multiple of `grain` and at least one grain. */
export function alignedChunk(wanted: number, grain: number): number {
  if (!Number.isSafeInteger(wanted) || wanted <= 0) {
    throw new BlockError('INVALID_ARGUMENT', `chunk size must be a positive integer, got ${wanted}`);
  }
  return Math.max(grain, Math.floor(wanted / grain) * grain);
}
