import { sameBytes } from '@blk/core';

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

/**
 * Like `pattern` for megabytes at memcpy speed: a 64 KiB `pattern` block repeated, each sector
 * stamped with its own sector number and the seed in its first 12 bytes, so a misplaced, stale or
 * missing sector is still visible.
 */
export function bigPattern(sector: number, count: number, sectorSize: number, seed = 1): Uint8Array {
  return fillBigPattern(new Uint8Array(count * sectorSize), sector, sectorSize, seed);
}

/** Writes `bigPattern(sector, bytes.byteLength / sectorSize, sectorSize, seed)` into `bytes`. */
export function fillBigPattern(bytes: Uint8Array, sector: number, sectorSize: number, seed = 1): Uint8Array {
  const count = bytes.byteLength / sectorSize;
  const block = pattern(0, Math.max(1, Math.floor(65536 / sectorSize)), sectorSize, seed);
  for (let at = 0; at < bytes.byteLength; at += block.byteLength)
    bytes.set(block.subarray(0, Math.min(block.byteLength, bytes.byteLength - at)), at);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let s = 0; s < count; s++) {
    view.setFloat64(s * sectorSize, sector + s, true);
    view.setUint32(s * sectorSize + 8, seed, true);
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

const ZEROES = new Uint8Array(65536);

export function isZero(bytes: Uint8Array): boolean {
  for (let at = 0; at < bytes.byteLength; at += ZEROES.byteLength) {
    const piece = bytes.subarray(at, at + ZEROES.byteLength);
    if (!sameBytes(piece, ZEROES.subarray(0, piece.byteLength))) return false;
  }
  return true;
}
