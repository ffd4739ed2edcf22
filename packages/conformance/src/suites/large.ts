import { describe, expect, it } from 'vitest';
import { expectSameBytes, readSectors, withDevice, type DeviceFactory } from '../device-fixture.js';
import { bigPattern, fillBigPattern, isZero, pattern } from '../patterns.js';

/** The smallest device `options.large` may give. */
export const LARGE_MIN_BYTES = 64 << 20;
/** One request of more than this crosses 16 MiB storage chunks, the NBD payload maximum and any segment limit. */
const BIG_REQUEST_BYTES = 32 << 20;
const GiB4 = 2 ** 32;

/**
 * One buffer for the big request, kept across variants: fresh memory costs a page fault per 4 KiB,
 * which dominates a 32 MiB test on a busy machine. Tests of one file run one at a time.
 */
let scratch: Uint8Array | undefined;
function scratchOf(bytes: number): Uint8Array {
  if (!scratch || scratch.byteLength < bytes) scratch = new Uint8Array(bytes);
  return scratch.subarray(0, bytes);
}

/** Compares `got` with `bigPattern(sector, count, ss, seed)` a megabyte at a time. */
function expectBigPattern(got: Uint8Array, sector: number, ss: number, seed: number, what: string): void {
  const step = Math.max(1, (1 << 20) / ss);
  const count = got.byteLength / ss;
  for (let s = 0; s < count; s += step) {
    const n = Math.min(step, count - s);
    expectSameBytes(
      got.subarray(s * ss, (s + n) * ss),
      bigPattern(sector + s, n, ss, seed),
      `${what}, sectors ${sector + s}..${sector + s + n - 1}`,
    );
  }
}

export function largeTests(large: DeviceFactory): void {
  describe('large requests', () => {
    it('moves more than 32 MiB in one call, across 16 MiB boundaries and, on a device past 4 GiB, across the 4 GiB mark', () =>
      withDevice(large, async (device, info) => {
        const ss = info.sectorSize;
        const bytes = info.sizeSectors * ss;
        expect(bytes, `options.large must give at least ${LARGE_MIN_BYTES} bytes`).toBeGreaterThanOrEqual(LARGE_MIN_BYTES);
        const past4G = bytes >= GiB4 + LARGE_MIN_BYTES;
        const count = BIG_REQUEST_BYTES / ss + 3;
        // Starts one sector before a 16 MiB boundary (and, past 4 GiB, 16 MiB before the 4 GiB mark).
        const start = ((past4G ? GiB4 : 0) + (16 << 20)) / ss - 1 - (past4G ? (32 << 20) / ss : 0);
        const buffer = scratchOf(count * ss);
        if (device.supports.write) {
          fillBigPattern(buffer, start, ss, 1000);
          await device.write(start, [buffer.subarray(0, ss), buffer.subarray(ss)]);
          buffer.fill(0xa5);
          await device.read(start, [buffer.subarray(0, (count - 1) * ss), buffer.subarray((count - 1) * ss)]);
          expectBigPattern(buffer, start, ss, 1000, `a ${count}-sector read from sector ${start}`);
          expect(isZero(await readSectors(device, info, start - 1, 1)), 'the sector before the big write').toBe(true);
          expect(isZero(await readSectors(device, info, start + count, 1)), 'the sector after the big write').toBe(true);
        } else {
          buffer.fill(0xa5);
          await device.read(start, [buffer]);
          expect(isZero(buffer), `a ${count}-sector read from sector ${start} of a fresh device`).toBe(true);
        }
        if (!past4G || !device.supports.write) return;
        const last = info.sizeSectors - 2;
        const end = pattern(last, 2, ss, 1001);
        await device.write(last, [end]);
        expectSameBytes(await readSectors(device, info, last, 2), end, 'the last sectors of a device past 4 GiB');
        const high = Math.floor((GiB4 + (48 << 20)) / ss);
        expect(isZero(await readSectors(device, info, high, 2)), 'an unwritten range past 4 GiB').toBe(true);
        // Only where holes are cheap to skip: a device that is not sparse may scan by reading.
        if (device.seekMapped && device.supports.sparse) {
          expect(
            await device.seekMapped(start + count),
            'seekMapped after the big write finds the last sectors, not earlier data',
          ).toBeLessThanOrEqual(last);
          expect(await device.seekMapped(start + count)).toBeGreaterThanOrEqual(start + count);
        }
      }));
  });
}
