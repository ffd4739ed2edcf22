import type { BlockDevice, BlockInfo } from '@blk/core';
import { describe, expect, it } from 'vitest';
import type { ConformanceOptions } from '../conformance-options.js';
import { expectSameBytes, readSectors, type DeviceFactory } from '../device-fixture.js';
import { isZero, pattern } from '../patterns.js';

type Reopen = ConformanceOptions['reopen'];

/**
 * Runs `body` over a chain of devices: the factory's, then each one `next()` opens from the
 * previous (which the suite disconnected first). Every device made is disconnected at the end.
 */
async function withReopens(
  factory: DeviceFactory,
  reopen: Reopen,
  body: (first: BlockDevice, info: BlockInfo, next: (device: BlockDevice) => Promise<BlockDevice>) => Promise<void>,
): Promise<void> {
  const made: BlockDevice[] = [await factory()];
  try {
    const info = await made[0]!.getInfo();
    await body(made[0]!, info, async (device) => {
      if (!reopen) expect.fail('a persistent device needs options.reopen so the suite can check that flushed data survives');
      await device.disconnect();
      const again = await reopen(device);
      made.push(again);
      const after = await again.getInfo();
      expect({ sectorSize: after.sectorSize, readWrite: after.readWrite }, 'the reopened device').toEqual({
        sectorSize: info.sectorSize,
        readWrite: info.readWrite,
      });
      return again;
    });
  } finally {
    for (const device of made) await device.disconnect();
  }
}

/** Why the durability tests do not apply, read from the manifest; undefined when they do. */
function notApplicable(device: BlockDevice): string | undefined {
  if (!device.supports.persistent) return 'device is not persistent';
  if (!device.supports.write) return 'read-only device';
  return undefined;
}

export function durabilityTests(factory: DeviceFactory, reopen: Reopen): void {
  describe('durability (persistent devices)', () => {
    it('keeps flushed writes, zeroes, overwrites and a resize across disconnect and reopen', async (ctx) => {
      await withReopens(factory, reopen, async (first, info, next) => {
        const skip = notApplicable(first);
        if (skip) return ctx.skip(skip);
        const ss = info.sectorSize;
        const last = info.sizeSectors - 2;
        const head = pattern(1, 6, ss, 800);
        const tail = pattern(last, 2, ss, 801);
        await first.write(1, [head]);
        await first.write(last, [tail]);
        await first.flush?.();
        const second = await next(first);
        expect((await second.getInfo()).sizeSectors).toBe(info.sizeSectors);
        expectSameBytes(await readSectors(second, info, 1, 6), head, 'flushed sectors 1..6 after reopen');
        expectSameBytes(await readSectors(second, info, last, 2), tail, 'flushed last sectors after reopen');
        const over = pattern(3, 2, ss, 802);
        await second.write(3, [over]);
        const zero = second.writeZeroes?.bind(second) ?? (second.supports.discardZeroes ? second.discard?.bind(second) : undefined);
        if (zero) await zero(last, 2);
        await second.flush?.();
        const third = await next(second);
        const expected = head.slice();
        expected.set(over, 2 * ss);
        expectSameBytes(await readSectors(third, info, 1, 6), expected, 'flushed overwrite after the second reopen');
        const end = await readSectors(third, info, last, 2);
        if (zero) expect(isZero(end), 'flushed zeroes of the last sectors after the second reopen').toBe(true);
        else expectSameBytes(end, tail, 'last sectors after the second reopen');
        if (!third.resize) return;
        const size = info.sizeSectors + 24;
        await third.resize(size);
        const grown = pattern(size - 3, 3, ss, 803);
        await third.write(size - 3, [grown]);
        await third.flush?.();
        const fourth = await next(third);
        expect((await fourth.getInfo()).sizeSectors, 'size after a flushed resize and a reopen').toBe(size);
        expectSameBytes(await readSectors(fourth, info, size - 3, 3), grown, 'the grown end after reopen');
      });
    });

    it('keeps a write acknowledged with FUA across disconnect and reopen, without a flush', async (ctx) => {
      await withReopens(factory, reopen, async (first, info, next) => {
        const skip = notApplicable(first) ?? (first.supports.fua ? undefined : 'no fua');
        if (skip) return ctx.skip(skip);
        const data = pattern(2, 3, info.sectorSize, 804);
        await first.write(2, [data]);
        const second = await next(first);
        expectSameBytes(await readSectors(second, info, 2, 3), data, 'a FUA write after reopen');
      });
    });
  });
}
