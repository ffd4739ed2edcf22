import { READ_ONLY_FALSE_FLAGS } from '@blk/core';
import { describe, expect, it } from 'vitest';
import { FULL_READ_LIMIT, expectSameBytes, readSectors, withDevice, type DeviceFactory } from '../device-fixture.js';
import { expectBlockError } from '../expect-block-error.js';

export function readOnlyTests(factory: DeviceFactory): void {
  describe('read-only devices', () => {
    it('refuse write, discard, writeZeroes and resize with READ_ONLY and change nothing', async (ctx) =>
      withDevice(factory, async (device, info) => {
        if (info.readWrite) return ctx.skip('device is writable');
        const n = Math.min(8, info.sizeSectors);
        const before = await readSectors(device, info, 0, n);
        await expectBlockError(device.write(0, [new Uint8Array(n * info.sectorSize).fill(1)]), 'READ_ONLY');
        if (device.discard) await expectBlockError(device.discard(0, n), 'READ_ONLY');
        if (device.writeZeroes) await expectBlockError(device.writeZeroes(0, n), 'READ_ONLY');
        if (device.resize) await expectBlockError(device.resize(info.sizeSectors + 8), 'READ_ONLY');
        expectSameBytes(await readSectors(device, info, 0, n), before, 'first sectors');
        const after = await device.getInfo();
        if (after.sizeSectors !== info.sizeSectors) throw new Error('a refused resize changed the size');
      }));

    it('declare false for every write-type flag, read over their whole range, and refuse writes anywhere in it', async (ctx) =>
      withDevice(factory, async (device, info) => {
        if (info.readWrite) return ctx.skip('device is writable');
        for (const flag of READ_ONLY_FALSE_FLAGS) expect(device.supports[flag], `supports.${flag} of a read-only device`).toBe(false);
        const ss = info.sectorSize;
        const size = info.sizeSectors;
        // The whole device in one read when it is small, otherwise a window at each end and in the middle.
        const window = Math.min(size, Math.floor(FULL_READ_LIMIT / ss));
        const starts = window === size ? [0] : [0, (size - window) >> 1, size - window];
        const before = await Promise.all(starts.map((s) => readSectors(device, info, s, window)));
        for (const sector of [0, 1, size >> 1, size - 2, size - 1]) {
          await expectBlockError(device.write(sector, [new Uint8Array(ss).fill(0xee)]), 'READ_ONLY');
        }
        await expectBlockError(device.write(0, [new Uint8Array(window * ss).fill(0xee)]), 'READ_ONLY');
        for (const [i, s] of starts.entries()) expectSameBytes(await readSectors(device, info, s, window), before[i]!, `sectors from ${s}`);
      }));
  });
}
