import type { BlockDevice } from '@blk/core';

/** What the test server serves: `size` bytes, read by byte range. */
export interface ImageSource {
  readonly size: number;
  read(start: number, end: number): Promise<Uint8Array>;
}

export function bytesSource(bytes: Uint8Array): ImageSource {
  return { size: bytes.byteLength, read: (start, end) => Promise.resolve(bytes.subarray(start, end)) };
}

/** The first `size` bytes of a device (all of it by default); a failing device read fails the request. */
export async function deviceSource(device: BlockDevice, size?: number): Promise<ImageSource> {
  const info = await device.getInfo();
  const ss = info.sectorSize;
  return {
    size: size ?? info.sizeSectors * ss,
    async read(start, end) {
      const first = Math.floor(start / ss);
      const last = Math.ceil(end / ss);
      const buffer = new Uint8Array((last - first) * ss);
      await device.read(first, [buffer]);
      return buffer.subarray(start - first * ss, end - first * ss);
    },
  };
}

/** Deterministic, position-dependent bytes: every 4-byte word tells its offset, mixed with `seed`. */
export function patternBytes(size: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  for (let at = 0; at + 4 <= size; at += 4) view.setUint32(at, Math.imul(at / 4 + 1, 2654435761) ^ Math.imul(seed, 40503), true);
  for (let at = size & ~3; at < size; at++) bytes[at] = (at * 131 + seed) & 0xff;
  return bytes;
}
