import { OPTIONAL_METHODS, SUPPORT_FLAGS } from '@blk/core';
import { describe, expect, it } from 'vitest';
import { MIN_SECTORS, withDevice, type DeviceFactory } from '../device-fixture.js';

export function manifestTests(factory: DeviceFactory): void {
  describe('manifest and info', () => {
    it('declares every supports flag as a boolean in a frozen, JSON-cloneable manifest', () =>
      withDevice(factory, (device) => {
        const { supports } = device;
        expect(Object.keys(supports).sort()).toEqual([...SUPPORT_FLAGS].sort());
        for (const flag of SUPPORT_FLAGS) expect(typeof supports[flag], flag).toBe('boolean');
        expect(Object.isFrozen(supports)).toBe(true);
        expect(JSON.parse(JSON.stringify(supports))).toEqual(supports);
        if (supports.discardZeroes) expect(supports.discard).toBe(true);
        return Promise.resolve();
      }));

    it('has each optional method exactly when its flag is set', () =>
      withDevice(factory, (device) => {
        const methods = device as unknown as Record<string, unknown>;
        for (const [method, flag] of Object.entries(OPTIONAL_METHODS)) {
          expect(typeof methods[method] === 'function', `${method} present ⇔ supports.${flag}`).toBe(device.supports[flag]);
        }
        return Promise.resolve();
      }));

    it('reports a sane BlockInfo that agrees with supports.write and stays the same', () =>
      withDevice(factory, async (device, info) => {
        expect(typeof info.readWrite).toBe('boolean');
        expect(Number.isSafeInteger(info.sectorSize) && info.sectorSize > 0).toBe(true);
        expect(Number.isSafeInteger(info.sizeSectors) && info.sizeSectors >= 0).toBe(true);
        expect(info.sizeSectors, `the suite needs at least ${MIN_SECTORS} sectors`).toBeGreaterThanOrEqual(MIN_SECTORS);
        expect(info.readWrite).toBe(device.supports.write);
        expect(await device.getInfo()).toEqual(info);
      }));

    it('keeps the same manifest after disconnect', async () => {
      const device = await factory();
      const before = JSON.stringify(device.supports);
      await device.disconnect();
      expect(JSON.stringify(device.supports)).toBe(before);
    });
  });
}
