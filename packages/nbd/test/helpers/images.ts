import { randomFillSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

/**
 * An image of `mib` MiB with random data in every other MiB and zeroes in between (so sparse
 * handling is exercised), written to `path` and returned.
 */
export function writeTestImage(path: string, mib: number): Buffer {
  const image = Buffer.alloc(mib << 20);
  for (let i = 0; i < mib; i += 2) randomFillSync(image, i << 20, 1 << 20);
  writeFileSync(path, image);
  return image;
}

/** The first differing byte offset of two equal-length buffers, or -1. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.byteLength !== b.byteLength) return Math.min(a.byteLength, b.byteLength);
  if (Buffer.compare(a, b) === 0) return -1;
  let i = 0;
  while (a[i] === b[i]) i++;
  return i;
}

export function readImage(path: string): Buffer {
  return readFileSync(path);
}
