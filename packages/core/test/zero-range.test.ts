import { describe, expect, it } from 'vitest';
import { ensureZero, zeroRange } from '../src/index.js';
import { ArrayDevice } from './helpers/array-device.js';

describe('zeroRange', () => {
  it('prefers writeZeroes', async () => {
    const dev = new ArrayDevice({ writeZeroes: true, discardZeroes: true });
    dev.fill(0, 64, 7);
    await zeroRange(dev, 3, 5);
    expect(dev.calls.writeZeroes).toBe(1);
    expect(dev.calls.discard).toBe(0);
    expect(dev.bytes.subarray(3 * 512, 8 * 512).every((b) => b === 0)).toBe(true);
    expect(dev.bytes[8 * 512]).not.toBe(0);
  });

  it('falls back to a zeroing discard, then to writes', async () => {
    const discarding = new ArrayDevice({ discardZeroes: true });
    discarding.fill(0, 64, 7);
    await zeroRange(discarding, 0, 64);
    expect(discarding.calls.discard).toBe(1);
    expect(discarding.bytes.every((b) => b === 0)).toBe(true);

    const plain = new ArrayDevice({ sizeSectors: 4096 });
    plain.fill(0, 4096, 7);
    await zeroRange(plain, 1, 4094);
    expect(plain.calls.write).toBe(2);
    expect(plain.bytes.subarray(512, 4095 * 512).every((b) => b === 0)).toBe(true);
    expect(plain.bytes[511]).not.toBe(0);
    await zeroRange(plain, 0, 0);
    expect(plain.calls.write).toBe(2);
  });
});

describe('ensureZero', () => {
  it('skips a range a seek shows to read zero already, and zeroes one that holds data', async () => {
    const dev = new ArrayDevice({ seek: true, sizeSectors: 64 });
    await ensureZero(dev, 0, 64);
    expect(dev.calls.write).toBe(0);
    dev.fill(10, 1, 7);
    await ensureZero(dev, 0, 10);
    expect(dev.calls.write).toBe(0);
    await ensureZero(dev, 8, 4);
    expect(dev.calls.write).toBe(1);
    expect(dev.bytes.every((b) => b === 0)).toBe(true);
  });

  it('zeroes a device that cannot seek', async () => {
    const dev = new ArrayDevice({ sizeSectors: 8 });
    await ensureZero(dev, 0, 8);
    expect(dev.calls.write).toBe(1);
  });
});
