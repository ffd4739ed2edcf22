import { extents } from '@blk/core';
import { expectBlockError, pattern, readSectors } from '@blk/conformance';
import { describe, expect, it } from 'vitest';
import { Ramdisk, connect, create, destroy } from '../src/index.js';

const TiB = 2 ** 40;

describe('Ramdisk geometry', () => {
  it('defaults to 32768 sectors of 512 bytes', async () => {
    expect(await new Ramdisk().getInfo()).toEqual({ readWrite: true, sectorSize: 512, sizeSectors: 32768 });
  });

  it.each([512, 1024, 2048, 4096, 8192, 16384, 32768, 65536])('honours a %i-byte sector', async (sectorSize) => {
    const disk = new Ramdisk({ sectorSize, sizeSectors: 8 });
    const info = await disk.getInfo();
    expect(info.sectorSize).toBe(sectorSize);
    await disk.write(3, [pattern(3, 1, sectorSize)]);
    expect(Buffer.compare(await readSectors(disk, info, 3, 1), pattern(3, 1, sectorSize))).toBe(0);
    // Neighbouring sectors are whole sectors apart, not 512 bytes apart.
    expect((await readSectors(disk, info, 2, 1)).every((b) => b === 0)).toBe(true);
    expect((await readSectors(disk, info, 4, 1)).every((b) => b === 0)).toBe(true);
    if (sectorSize > 512) await expectBlockError(disk.write(0, [new Uint8Array(512)]), 'INVALID_BUFFER');
    await expectBlockError(disk.write(0, [new Uint8Array(sectorSize * 1.5)]), 'INVALID_BUFFER');
  });

  it.each([
    [{ sectorSize: 256 }],
    [{ sectorSize: 3000 }],
    [{ sectorSize: 131072 }],
    [{ sizeSectors: -1 }],
    [{ sizeSectors: 1.5 }],
    [{ sizeSectors: 2 ** 53 }],
    [{ pageSize: 1000 }],
    [{ pageSize: 2048 }],
    [{ sectorSize: 8192, pageSize: 4096 }],
  ])('refuses the geometry %j with INVALID_ARGUMENT', (options) => {
    expect(() => new Ramdisk(options)).toThrow(expect.objectContaining({ name: 'BlockError', code: 'INVALID_ARGUMENT' }));
  });
});

describe('Ramdisk is sparse', () => {
  it('a 1 TiB ramdisk with 1 MiB written holds about 1 MiB', async () => {
    global.gc?.();
    const before = process.memoryUsage().arrayBuffers;
    const disk = new Ramdisk({ sizeSectors: TiB / 512 });
    const chunk = pattern(0, 256, 512);
    for (let i = 0; i < 8; i++) await disk.write(i * 2 ** 28 + 512, [chunk]);
    expect(disk.allocatedBytes).toBeLessThanOrEqual(2 * 2 ** 20);
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(grown).toBeLessThan(4 * 2 ** 20);
    expect(await disk.seekMapped(0)).toBe(512);
  });

  it('discard and writeZeroes free whole pages and keep partial ones zeroed', async () => {
    const disk = new Ramdisk({ sizeSectors: 1024, pageSize: 4096 });
    await disk.write(0, [pattern(0, 1024, 512)]);
    expect(disk.allocatedBytes).toBe(512 * 1024);
    await disk.discard(4, 20);
    // Sectors 8..23 are two whole 4 KiB pages; 4..7 share a page with 0..3.
    expect(disk.allocatedBytes).toBe(512 * 1024 - 2 * 4096);
    const info = await disk.getInfo();
    expect((await readSectors(disk, info, 4, 20)).every((b) => b === 0)).toBe(true);
    expect(Buffer.compare(await readSectors(disk, info, 0, 4), pattern(0, 4, 512))).toBe(0);
    await disk.writeZeroes(0, 1024);
    expect(disk.allocatedBytes).toBe(0);
  });

  it('walks a 1 TiB device with 1000 extents through seekMapped/seekUnmapped', async () => {
    const disk = new Ramdisk({ sizeSectors: TiB / 512 });
    const stride = TiB / 512 / 1000;
    const starts: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const sector = Math.floor(i * stride) + 4096;
      starts.push(sector);
      await disk.write(sector, [pattern(sector, 1, 512)]);
    }
    const mapped = [];
    for await (const e of extents(disk)) if (e.mapped) mapped.push(e);
    expect(mapped).toHaveLength(1000);
    mapped.forEach((e, i) => {
      // One written sector maps its whole 64 KiB page.
      expect(e.sector).toBe(Math.floor(starts[i]! / 128) * 128);
      expect(e.count).toBe(128);
    });
  });

  it('seek answers stay within a shrunk device and the regained range is unmapped', async () => {
    const disk = new Ramdisk({ sizeSectors: 1000, pageSize: 4096 });
    await disk.write(990, [pattern(990, 10, 512)]);
    await disk.resize(995);
    expect(await disk.seekMapped(0)).toBe(984);
    expect(await disk.seekUnmapped(984)).toBe(995);
    await disk.resize(1000);
    // The page holding sectors 992..999 was kept (992..994 still hold data), so 995..999 are
    // zero but not "unmapped": seeking is conservative at page granularity.
    expect(await disk.seekUnmapped(995)).toBe(1000);
    expect((await readSectors(disk, await disk.getInfo(), 995, 5)).every((b) => b === 0)).toBe(true);
  });
});

describe('the named registry', () => {
  it('connect returns handles sharing one device, created at the default size', async () => {
    destroy('shared');
    const a = await connect('shared');
    const b = await connect('shared');
    expect((await a.getInfo()).sizeSectors).toBe(32768);
    await a.write(10, [pattern(10, 1, 512)]);
    const info = await b.getInfo();
    expect(Buffer.compare(await readSectors(b, info, 10, 1), pattern(10, 1, 512))).toBe(0);
    await b.resize(100);
    expect((await a.getInfo()).sizeSectors).toBe(100);
  });

  it('data survives disconnect; the closed handle is refused, others work', async () => {
    destroy('survivor');
    const a = await connect('survivor');
    await a.write(0, [pattern(0, 2, 512)]);
    await a.disconnect();
    await expectBlockError(a.read(0, [new Uint8Array(512)]), 'DISCONNECTED');
    const again = await connect('survivor');
    expect(Buffer.compare(await readSectors(again, await again.getInfo(), 0, 2), pattern(0, 2, 512))).toBe(0);
  });

  it('create replaces a same-named device; old handles keep the orphaned data', async () => {
    const old = await create('replaced', { sizeSectors: 64 });
    await old.write(1, [pattern(1, 1, 512)]);
    const fresh = await create('replaced', { sizeSectors: 16, sectorSize: 4096 });
    expect(await fresh.getInfo()).toEqual({ readWrite: true, sectorSize: 4096, sizeSectors: 16 });
    expect((await readSectors(fresh, await fresh.getInfo(), 0, 1)).every((b) => b === 0)).toBe(true);
    expect(Buffer.compare(await readSectors(old, await old.getInfo(), 1, 1), pattern(1, 1, 512))).toBe(0);
    expect((await (await connect('replaced')).getInfo()).sectorSize).toBe(4096);
  });

  it('destroy forgets the name: the next connect is a fresh empty default device', async () => {
    const held = await create('gone', { sizeSectors: 64 });
    await held.write(0, [pattern(0, 1, 512)]);
    destroy('gone');
    const next = await connect('gone');
    expect(await next.getInfo()).toEqual({ readWrite: true, sectorSize: 512, sizeSectors: 32768 });
    expect((await readSectors(next, await next.getInfo(), 0, 1)).every((b) => b === 0)).toBe(true);
    expect((await readSectors(held, await held.getInfo(), 0, 1))[0]).not.toBe(0);
    destroy('never-existed');
  });

  it('create rejects a bad geometry and leaves the old device registered', async () => {
    const kept = await create('bad-geometry', { sizeSectors: 8 });
    await expect(create('bad-geometry', { sizeSectors: 8, sectorSize: 100 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((await (await connect('bad-geometry')).getInfo()).sizeSectors).toBe(8);
    await kept.disconnect();
  });
});
