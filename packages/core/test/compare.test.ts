import { describe, expect, it } from 'vitest';
import { compare } from '../src/index.js';
import { ArrayDevice } from './helpers/array-device.js';

describe('compare', () => {
  it('is 0 for two empty devices and for equal contents', async () => {
    expect(await compare(new ArrayDevice(), new ArrayDevice())).toBe(0);
    const a = new ArrayDevice();
    const b = new ArrayDevice();
    a.fill(3, 4, 9);
    b.fill(3, 4, 9);
    expect(await compare(a, b)).toBe(0);
  });

  it('orders by byte length first', async () => {
    expect(await compare(new ArrayDevice({ sizeSectors: 8 }), new ArrayDevice({ sizeSectors: 9 }))).toBe(-1);
    expect(await compare(new ArrayDevice({ sizeSectors: 9 }), new ArrayDevice({ sizeSectors: 8 }))).toBe(1);
  });

  it('finds a difference in the first and in the last byte', async () => {
    for (const at of [0, 64 * 512 - 1]) {
      const a = new ArrayDevice();
      const b = new ArrayDevice();
      a.bytes[at] = 1;
      expect(await compare(a, b)).toBeGreaterThan(0);
      expect(await compare(b, a)).toBeLessThan(0);
    }
  });

  it('compares devices with different sector sizes byte for byte', async () => {
    const a = new ArrayDevice({ sectorSize: 512, sizeSectors: 64 });
    const b = new ArrayDevice({ sectorSize: 4096, sizeSectors: 8 });
    a.fill(5, 3, 1);
    b.bytes.set(a.bytes);
    expect(await compare(a, b)).toBe(0);
    b.bytes[5 * 512 + 17] = b.bytes[5 * 512 + 17]! ^ 1;
    expect(await compare(a, b)).not.toBe(0);
    expect(await compare(b, a)).not.toBe(0);
  });

  it('skips runs that read zero on both seekable devices without reading them', async () => {
    const a = new ArrayDevice({ sizeSectors: 1 << 16, seek: true });
    const b = new ArrayDevice({ sizeSectors: 1 << 16, seek: true });
    a.fill(1000, 8, 1);
    b.fill(1000, 8, 1);
    expect(await compare(a, b, { chunkBytes: 4096 })).toBe(0);
    expect(a.calls.readBytes).toBeLessThanOrEqual(8 * 512);
    // A hole on one side only is still compared against the other side's data.
    const c = new ArrayDevice({ sizeSectors: 1 << 16, seek: true });
    expect(await compare(a, c)).toBeGreaterThan(0);
  });

  it('reports progress up to the byte length', async () => {
    const seen: number[] = [];
    await compare(new ArrayDevice(), new ArrayDevice(), { chunkBytes: 4096, onProgress: (d) => seen.push(d) });
    expect(seen[0]).toBe(0);
    expect(seen.at(-1)).toBe(64 * 512);
  });
});
