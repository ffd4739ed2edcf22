/**
 * Bytes that differ per sector, per offset and per seed, and are never a whole zero sector, so a
 * misplaced, stale or missing sector is always visible.
 */
export function pattern(sector: number, count: number, sectorSize: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(count * sectorSize);
  for (let s = 0; s < count; s++) {
    let x = (Math.imul(sector + s + 1, 0x9e3779b1) ^ Math.imul(seed, 0x85ebca6b)) >>> 0;
    const base = s * sectorSize;
    for (let i = 0; i < sectorSize; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      bytes[base + i] = x & 0xff;
    }
    bytes[base] = 0x80 | (s & 0x7f);
  }
  return bytes;
}

/** Splits `bytes` into consecutive views whose lengths are the given sector counts. */
export function splitSectors(bytes: Uint8Array, sectorSize: number, counts: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (const count of counts) {
    out.push(bytes.subarray(at, at + count * sectorSize));
    at += count * sectorSize;
  }
  if (at !== bytes.byteLength) out.push(bytes.subarray(at));
  return out;
}

export function isZero(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0) return false;
  return true;
}
