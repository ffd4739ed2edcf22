import { describe, expect, it } from 'vitest';
import { expectSameBytes, readSectors, withDevice, type DeviceFactory } from '../device-fixture.js';
import { expectBlockError } from '../expect-block-error.js';
import { isZero, pattern } from '../patterns.js';

export function optionalTests(factory: DeviceFactory): void {
  describe('flush, discard, writeZeroes, resize', () => {
    it('flush resolves and written data is still there after it', async (ctx) =>
      withDevice(factory, async (device, info) => {
        if (!device.flush) return ctx.skip('no flush');
        await device.flush();
        if (!device.supports.write) return;
        const data = pattern(6, 3, info.sectorSize, 5);
        await device.write(6, [data]);
        await Promise.all([device.flush(), device.flush()]);
        expectSameBytes(await readSectors(device, info, 6, 3), data, 'after flush');
      }));

    for (const op of ['discard', 'writeZeroes'] as const) {
      it(`${op} accepts count 0 anywhere in [0, size] and leaves neighbours alone`, async (ctx) =>
        withDevice(factory, async (device, info) => {
          const fn = device[op]?.bind(device);
          if (!fn || !device.supports.write) return ctx.skip(`no writable ${op}`);
          const data = pattern(0, 16, info.sectorSize, 3);
          await device.write(0, [data]);
          await fn(0, 0);
          await fn(info.sizeSectors, 0);
          await fn(5, 0);
          expectSameBytes(await readSectors(device, info, 0, 16), data, 'after count-0 calls');
          await fn(4, 3);
          const zeroes = op === 'writeZeroes' || device.supports.discardZeroes;
          const after = await readSectors(device, info, 0, 16);
          expectSameBytes(after.subarray(0, 4 * info.sectorSize), data.subarray(0, 4 * info.sectorSize), 'sectors 0..3');
          expectSameBytes(after.subarray(7 * info.sectorSize), data.subarray(7 * info.sectorSize), 'sectors 7..15');
          if (zeroes) expect(isZero(after.subarray(4 * info.sectorSize, 7 * info.sectorSize)), 'sectors 4..6 read zero').toBe(true);
        }));
    }

    it('writeZeroes and a zeroing discard work across the whole device and up to the last sector', async (ctx) =>
      withDevice(factory, async (device, info) => {
        const zero = device.writeZeroes?.bind(device) ?? (device.supports.discardZeroes ? device.discard?.bind(device) : undefined);
        if (!zero || !device.supports.write) return ctx.skip('no zeroing operation');
        const last = info.sizeSectors - 2;
        await device.write(last, [pattern(last, 2, info.sectorSize)]);
        await device.write(0, [pattern(0, 2, info.sectorSize)]);
        await zero(0, info.sizeSectors);
        expect(isZero(await readSectors(device, info, last, 2))).toBe(true);
        expect(isZero(await readSectors(device, info, 0, 2))).toBe(true);
      }));

    it('resize: shrinking refuses I/O past the new end, growing back reads zeroes in the regained range', async (ctx) =>
      withDevice(factory, async (device, info) => {
        if (!device.resize || !device.supports.write) return ctx.skip('no writable resize');
        const size = info.sizeSectors;
        const half = size >> 1;
        const keep = pattern(0, 4, info.sectorSize, 8);
        await device.write(0, [keep]);
        await device.write(size - 4, [pattern(size - 4, 4, info.sectorSize, 9)]);
        await device.write(half - 1, [pattern(half - 1, 2, info.sectorSize, 10)]);
        await device.resize(half);
        expect((await device.getInfo()).sizeSectors).toBe(half);
        await expectBlockError(device.read(half, [new Uint8Array(info.sectorSize)]), 'OUT_OF_RANGE');
        await expectBlockError(device.write(half - 1, [new Uint8Array(2 * info.sectorSize)]), 'OUT_OF_RANGE');
        await device.read(half - 1, [new Uint8Array(info.sectorSize)]);
        await device.resize(size);
        expect((await device.getInfo()).sizeSectors).toBe(size);
        expectSameBytes(await readSectors(device, info, 0, 4), keep, 'data below the cut');
        expect(isZero(await readSectors(device, info, half, size - half)), 'regained range').toBe(true);
        await device.resize(size);
        expect((await device.getInfo()).sizeSectors).toBe(size);
      }));

    it('resize to zero and back gives an empty then a zeroed device', async (ctx) =>
      withDevice(factory, async (device, info) => {
        if (!device.resize || !device.supports.write) return ctx.skip('no writable resize');
        await device.write(0, [pattern(0, 2, info.sectorSize)]);
        await device.resize(0);
        expect((await device.getInfo()).sizeSectors).toBe(0);
        await device.read(0, []);
        await expectBlockError(device.read(0, [new Uint8Array(info.sectorSize)]), 'OUT_OF_RANGE');
        await device.resize(info.sizeSectors);
        expect(isZero(await readSectors(device, info, 0, 2))).toBe(true);
      }));
  });
}
