import { sameBytes, type BlockDevice, type BlockInfo } from '@blk/core';
import { expect } from 'vitest';

export type DeviceFactory = () => BlockDevice | Promise<BlockDevice>;

/** The smallest device the suite can exercise: it writes 12-sector runs at both ends. */
export const MIN_SECTORS = 32;

/** Devices larger than this are probed in windows rather than read whole. */
export const FULL_READ_LIMIT = 8 << 20;

/** Makes a fresh device, runs `body`, and always disconnects it afterwards. */
export async function withDevice(factory: DeviceFactory, body: (device: BlockDevice, info: BlockInfo) => Promise<void>): Promise<void> {
  const device = await factory();
  try {
    const info = await device.getInfo();
    await body(device, info);
  } finally {
    await device.disconnect();
  }
}

export async function readSectors(device: BlockDevice, info: BlockInfo, sector: number, count: number): Promise<Uint8Array> {
  const out = new Uint8Array(count * info.sectorSize);
  await device.read(sector, [out]);
  return out;
}

/** Asserts byte equality without printing megabytes: reports the first differing offset. */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  expect(actual.byteLength, `${what}: length`).toBe(expected.byteLength);
  if (sameBytes(actual, expected)) return;
  let i = 0;
  while (actual[i] === expected[i]) i++;
  expect.fail(`${what}: first difference at byte ${i} (got ${actual[i]}, expected ${expected[i]})`);
}
