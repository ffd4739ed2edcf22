import { describe, it } from 'vitest';
import { expectSameBytes, readSectors, withDevice, type DeviceFactory } from '../device-fixture.js';
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
  });
}
