import { extents, type BlockDevice, type BlockInfo } from '@blk/core';
import { describe, expect, it } from 'vitest';
import { readSectors, withDevice, type DeviceFactory } from '../device-fixture.js';
import { isZero, pattern } from '../patterns.js';

/** Checks the two seek answers from `sector` against what the device actually reads. */
async function checkSeeksFrom(device: BlockDevice, info: BlockInfo, sector: number): Promise<void> {
  const size = info.sizeSectors;
  const mapped = await device.seekMapped!(sector);
  const unmapped = await device.seekUnmapped!(sector);
  for (const [name, r] of [
    ['seekMapped', mapped],
    ['seekUnmapped', unmapped],
  ] as const) {
    expect(Number.isSafeInteger(r) && r >= sector && r <= size, `${name}(${sector}) = ${r} within [${sector}, ${size}]`).toBe(true);
  }
  if (mapped > sector) {
    const span = Math.min(mapped - sector, 256);
    expect(isZero(await readSectors(device, info, sector, span)), `sectors before seekMapped(${sector}) = ${mapped} read zero`).toBe(true);
  }
  if (unmapped < size) {
    expect(isZero(await readSectors(device, info, unmapped, 1)), `seekUnmapped(${sector}) = ${unmapped} reads zero`).toBe(true);
  }
}

export function seekTests(factory: DeviceFactory): void {
  describe('seekMapped and seekUnmapped', () => {
    it('answer sizeSectors at the end and stay within bounds on a fresh device', async (ctx) =>
      withDevice(factory, async (device, info) => {
        if (!device.seekMapped || !device.seekUnmapped) return ctx.skip('no seek');
        expect(await device.seekMapped(info.sizeSectors)).toBe(info.sizeSectors);
        expect(await device.seekUnmapped(info.sizeSectors)).toBe(info.sizeSectors);
        await checkSeeksFrom(device, info, 0);
        if (device.supports.sparse) expect(await device.seekMapped(0), 'a fresh sparse device maps nothing').toBe(info.sizeSectors);
      }));

    it('never calls sectors holding data "guaranteed zero", and walks to a consistent map', async (ctx) =>
      withDevice(factory, async (device, info) => {
        if (!device.seekMapped || !device.seekUnmapped || !device.supports.write) return ctx.skip('no writable seek');
        const size = info.sizeSectors;
        const runs: [number, number][] = [
          [1, 2],
          [size >> 1, 3],
          [size - 1, 1],
        ];
        for (const [s, n] of runs) await device.write(s, [pattern(s, n, info.sectorSize)]);
        for (const [s, n] of runs) {
          expect(await device.seekMapped(0)).toBeLessThanOrEqual(1);
          expect(await device.seekUnmapped(s), `seekUnmapped(${s}) skips the written run`).toBeGreaterThanOrEqual(s + n);
          expect(await device.seekMapped(s)).toBe(s);
        }
        for (const s of [0, 3, 4, (size >> 1) - 1, size - 2, size - 1]) await checkSeeksFrom(device, info, s);
        let covered = 0;
        for await (const extent of extents(device)) {
          expect(extent.sector).toBe(covered);
          if (!extent.mapped) {
            const span = Math.min(extent.count, 256);
            expect(isZero(await readSectors(device, info, extent.sector, span)), `unmapped run at ${extent.sector}`).toBe(true);
          }
          covered += extent.count;
        }
        expect(covered).toBe(size);
      }));
  });
}
