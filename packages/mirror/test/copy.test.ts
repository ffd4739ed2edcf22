import { compare, extents, type BlockDevice } from '@blk/core';
import { pattern, readSectors } from '@blk/conformance';
import { Ramdisk } from '@blk/ramdisk';
import { describe, expect, it } from 'vitest';
import { connect } from '../src/index.js';
import { contents, ramdisk, recording, restrict, scribble, type Call } from './helpers/devices.js';

/** Writes a few runs of data, leaving holes between them (sector numbers in 512-byte units). */
async function sprinkle(device: BlockDevice, runs: readonly [number, number][]): Promise<void> {
  const { sectorSize } = await device.getInfo();
  for (const [at512, count512] of runs) {
    const sector = Math.floor((at512 * 512) / sectorSize);
    const count = Math.max(1, Math.ceil((count512 * 512) / sectorSize));
    await device.write(sector, [pattern(sector, count, sectorSize, 11)]);
  }
}

const covered = (calls: readonly Call[], op: string) => calls.filter((c) => c.op === op).reduce((n, c) => n + c.end - c.start, 0);

describe('the background copy makes an exact mirror', () => {
  const geometries = [
    [512, 512],
    [512, 4096],
    [4096, 512],
    [4096, 4096],
  ] as const;
  // Device lengths and chunk sizes chosen so the chunk never divides the device.
  const shapes = [
    { bytes: 300 * 4096, chunk: 7 * 4096 },
    { bytes: 37 * 4096, chunk: 3 * 4096 },
    { bytes: 8 * 4096, chunk: 5 * 4096 },
    { bytes: 8 * 4096, chunk: 64 * 4096 },
  ];

  for (const [pss, sss] of geometries) {
    for (const { bytes, chunk } of shapes) {
      it(`${pss} → ${sss}, ${bytes / 4096} × 4 KiB with ${chunk / 4096} × 4 KiB chunks, over stale secondary data`, async () => {
        const primary = ramdisk(bytes, pss);
        await sprinkle(primary, [
          [0, 1],
          [40, 17],
          [bytes / 512 - 9, 9],
        ]);
        const secondary = ramdisk(bytes, sss);
        await scribble(secondary, 99);
        const mirror = await connect(primary, secondary, { chunkBytes: chunk, concurrency: 3 });
        await mirror.synced;
        expect(mirror.state).toBe('synced');
        expect(await compare(primary, secondary)).toBe(0);
        await mirror.disconnect();
      });
    }
  }

  it('copies every byte of a dense primary that cannot seek', async () => {
    const bytes = 301 * 512;
    const primary = ramdisk(bytes, 512);
    await scribble(primary, 4);
    const plain = recording(restrict(primary, ['seek', 'sparse']), 512);
    const secondary = ramdisk(bytes, 512);
    await scribble(secondary, 5);
    const mirror = await connect(plain.device, secondary, { chunkBytes: 8 * 512, concurrency: 2 });
    await mirror.synced;
    expect(await compare(primary, secondary)).toBe(0);
    expect(covered(plain.calls, 'read')).toBe(bytes);
    await mirror.disconnect();
  });

  it('never reads past the end of a device whose size is not a multiple of the chunk (Mirage ran past it)', async () => {
    for (const [pss, sizeSectors, chunkBytes] of [
      [512, 1001, 3 * 1024],
      [4096, 37, 3 * 4096],
      [512, 33, 1 << 20],
    ] as const) {
      const primary = new Ramdisk({ sizeSectors, sectorSize: pss });
      await scribble(primary, 6);
      const rec = recording(restrict(primary, ['seek']), pss);
      const secondary = new Ramdisk({ sizeSectors, sectorSize: pss });
      const mirror = await connect(rec.device, secondary, { chunkBytes });
      await mirror.synced;
      const bytes = sizeSectors * pss;
      expect(Math.max(...rec.calls.map((c) => c.end))).toBe(bytes);
      expect(covered(rec.calls, 'read')).toBe(bytes);
      expect(await compare(primary, secondary)).toBe(0);
      await mirror.disconnect();
    }
  });
});

describe('offsets are scaled between sector sizes (Mirage read at unscaled offsets)', () => {
  it.each([
    [512, 4096],
    [4096, 512],
  ])('primary %i, secondary %i: reads and writes land on the same bytes of both', async (pss, sss) => {
    const bytes = 64 * 4096;
    const primary = ramdisk(bytes, pss);
    await scribble(primary, 21);
    const secondary = ramdisk(bytes, sss);
    const mirror = await connect(primary, secondary);
    const info = await mirror.getInfo();
    expect(info.sectorSize).toBe(4096);
    const readBack = await readSectors(mirror, info, 3, 2);
    const direct = await contents(primary);
    expect(Buffer.compare(readBack, direct.subarray(3 * 4096, 5 * 4096))).toBe(0);
    await mirror.synced;
    const data = pattern(10, 2, 4096, 77);
    await mirror.write(10, [data]);
    for (const child of [primary, secondary]) {
      const all = await contents(child);
      expect(Buffer.compare(all.subarray(10 * 4096, 12 * 4096), data)).toBe(0);
    }
    expect(await compare(primary, secondary)).toBe(0);
    await mirror.disconnect();
  });
});

describe('the copy is sparse-aware', () => {
  const bytes = 512 * 4096;

  it('does not read unmapped runs of a seekable primary, and zeroes them on the secondary with writeZeroes', async () => {
    const primary = ramdisk(bytes, 512);
    await sprinkle(primary, [
      [8, 8],
      [1000, 3],
      [4088, 8],
    ]);
    const mapped: [number, number][] = [];
    for await (const e of extents(primary)) if (e.mapped) mapped.push([e.sector * 512, (e.sector + e.count) * 512]);
    const p = recording(primary, 512);
    const inner = ramdisk(bytes, 512);
    await scribble(inner, 8);
    const s = recording(inner, 512);
    const mirror = await connect(p.device, s.device);
    await mirror.synced;
    expect(await compare(primary, inner)).toBe(0);
    const reads = p.calls.filter((c) => c.op === 'read');
    expect(reads.length).toBeGreaterThan(0);
    for (const r of reads) {
      expect(
        mapped.some(([a, b]) => r.start >= a && r.end <= b),
        `read [${r.start}, ${r.end}) inside mapped data`,
      ).toBe(true);
    }
    expect(covered(p.calls, 'read')).toBe(mapped.reduce((n, [a, b]) => n + b - a, 0));
    expect(covered(s.calls, 'writeZeroes')).toBe(bytes - covered(p.calls, 'read'));
    await mirror.disconnect();
  });

  it('zeroes with plain writes when the secondary has neither writeZeroes nor discard', async () => {
    const primary = ramdisk(bytes, 4096);
    await sprinkle(primary, [[64, 8]]);
    const inner = ramdisk(bytes, 512);
    await scribble(inner, 9);
    const s = recording(restrict(inner, ['discard', 'writeZeroes', 'seek', 'sparse']), 512);
    const mirror = await connect(primary, s.device, { chunkBytes: 64 * 1024 });
    await mirror.synced;
    expect(await compare(primary, inner)).toBe(0);
    expect(covered(s.calls, 'write')).toBe(bytes);
    await mirror.disconnect();
  });

  it('leaves holes alone where a seekable secondary already reads zero', async () => {
    const primary = ramdisk(bytes, 512);
    await sprinkle(primary, [[100, 20]]);
    const s = recording(ramdisk(bytes, 512), 512);
    const mirror = await connect(primary, s.device);
    await mirror.synced;
    expect(covered(s.calls, 'writeZeroes') + covered(s.calls, 'discard')).toBe(0);
    expect(covered(s.calls, 'write')).toBeLessThanOrEqual(2 * 4096 + 20 * 512);
    await mirror.disconnect();
  });

  it('mirrors a 64 GiB sparse device holding 2 small runs without reading its holes', async () => {
    const size = 64 * 2 ** 30;
    const primary = new Ramdisk({ sizeSectors: size / 4096, sectorSize: 4096 });
    await primary.write(5, [pattern(5, 3, 4096)]);
    await primary.write(size / 4096 - 1, [pattern(0, 1, 4096)]);
    const p = recording(primary, 4096);
    const secondary = new Ramdisk({ sizeSectors: size / 512 });
    const mirror = await connect(p.device, secondary);
    await mirror.synced;
    expect(covered(p.calls, 'read')).toBeLessThanOrEqual(2 * 64 * 1024);
    expect(await compare(primary, secondary)).toBe(0);
    await mirror.disconnect();
  });
});
