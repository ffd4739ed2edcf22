import { OPTIONAL_METHODS, isBlockError, type BlockDevice, type BlockInfo } from '@blk/core';
import { describe, expect, it } from 'vitest';
import type { DeviceFactory } from '../device-fixture.js';
import { expectBlockError } from '../expect-block-error.js';

function everyCall(device: BlockDevice, info: BlockInfo): [string, () => Promise<unknown>][] {
  const buffer = new Uint8Array(info.sectorSize);
  const calls: [string, () => Promise<unknown>][] = [
    ['getInfo', () => device.getInfo()],
    ['read', () => device.read(0, [buffer])],
    ['write', () => device.write(0, [buffer])],
  ];
  const args: Record<keyof typeof OPTIONAL_METHODS, unknown[]> = {
    flush: [],
    discard: [0, 1],
    writeZeroes: [0, 1],
    resize: [info.sizeSectors],
    seekMapped: [0],
    seekUnmapped: [0],
  };
  for (const [method, methodArgs] of Object.entries(args)) {
    const fn = (device as unknown as Record<string, unknown>)[method];
    if (typeof fn === 'function') calls.push([method, () => (fn as (...a: unknown[]) => Promise<unknown>).apply(device, methodArgs)]);
  }
  return calls;
}

export function disconnectTests(factory: DeviceFactory): void {
  describe('disconnect', () => {
    it('resolves, is idempotent, and never rejects even when called concurrently', async () => {
      const device = await factory();
      await Promise.all([device.disconnect(), device.disconnect()]);
      await device.disconnect();
    });

    it('makes every other method reject with DISCONNECTED', async () => {
      const device = await factory();
      const info = await device.getInfo();
      await device.disconnect();
      for (const [name, attempt] of everyCall(device, info)) {
        await expectBlockError(attempt(), 'DISCONNECTED').catch((e: unknown) => {
          throw new Error(`${name} after disconnect: ${e instanceof Error ? e.message : String(e)}`);
        });
      }
    });

    it('settles the requests in flight when it is called, each resolved or rejected with a BlockError', async () => {
      const device = await factory();
      const info = await device.getInfo();
      const inFlight: Promise<unknown>[] = [];
      for (let i = 0; i < 8; i++) {
        inFlight.push(device.read(i, [new Uint8Array(info.sectorSize)]));
        if (device.supports.write) inFlight.push(device.write(i + 8, [new Uint8Array(info.sectorSize).fill(i + 1)]));
      }
      await device.disconnect();
      const outcomes = await Promise.allSettled(inFlight);
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') expect(isBlockError(outcome.reason), String(outcome.reason)).toBe(true);
      }
    });
  });
}
