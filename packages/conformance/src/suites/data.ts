import { concatBytes } from '@blk/core';
import { describe, expect, it } from 'vitest';
import { FULL_READ_LIMIT, expectSameBytes, readSectors, withDevice, type DeviceFactory } from '../device-fixture.js';
import { isZero, pattern, splitSectors } from '../patterns.js';

export function dataTests(factory: DeviceFactory): void {
  describe('reads and writes', () => {
    it('reads never-written sectors as zeroes', () =>
      withDevice(factory, async (device, info) => {
        const total = info.sizeSectors * info.sectorSize;
        const window = Math.max(1, Math.floor(Math.min(total, FULL_READ_LIMIT) / info.sectorSize / 2));
        const starts = total <= FULL_READ_LIMIT ? [0] : [0, info.sizeSectors - window];
        const count = total <= FULL_READ_LIMIT ? info.sizeSectors : window;
        for (const start of starts) expect(isZero(await readSectors(device, info, start, count)), `from ${start}`).toBe(true);
      }));

    it('overwrites every byte of the buffers it reads into', () =>
      withDevice(factory, async (device, info) => {
        const buffers = [new Uint8Array(info.sectorSize).fill(0xaa), new Uint8Array(2 * info.sectorSize).fill(0x55)];
        await device.read(1, buffers);
        for (const b of buffers) expect(isZero(b)).toBe(true);
      }));

    it('accepts an empty buffer list at the first sector and at the end, and zero-length buffers', () =>
      withDevice(factory, async (device, info) => {
        await device.read(0, []);
        await device.read(info.sizeSectors, []);
        await device.read(info.sizeSectors, [new Uint8Array(0)]);
        if (!device.supports.write) return;
        await device.write(0, []);
        await device.write(info.sizeSectors, [new Uint8Array(0)]);
        const data = pattern(3, 1, info.sectorSize);
        await device.write(3, [new Uint8Array(0), data, new Uint8Array(0)]);
        expectSameBytes(await readSectors(device, info, 3, 1), data, 'sector 3');
      }));

    for (const count of [1, 2, 12]) {
      it(`round-trips ${count} sector(s) at the first and at the last sector`, async (ctx) =>
        withDevice(factory, async (device, info) => {
          if (!device.supports.write) return ctx.skip('read-only device');
          const last = info.sizeSectors - count;
          const first = pattern(0, count, info.sectorSize, count);
          const end = pattern(last, count, info.sectorSize, count);
          await device.write(0, [first]);
          await device.write(last, [end]);
          expectSameBytes(await readSectors(device, info, 0, count), first, 'first sectors');
          expectSameBytes(await readSectors(device, info, last, count), end, 'last sectors');
        }));
    }

    it('treats a scatter-gather list exactly like one contiguous buffer', async (ctx) =>
      withDevice(factory, async (device, info) => {
        if (!device.supports.write) return ctx.skip('read-only device');
        const data = pattern(4, 7, info.sectorSize, 9);
        await device.write(4, splitSectors(data.slice(), info.sectorSize, [1, 0, 3, 2, 1]));
        expectSameBytes(await readSectors(device, info, 4, 7), data, 'contiguous read of a gathered write');
        const scattered = [1, 2, 0, 4].map((n) => new Uint8Array(n * info.sectorSize));
        await device.read(4, scattered);
        expectSameBytes(concatBytes(scattered), data, 'scattered read');
      }));

    it('does not disturb the neighbours of a write, and overwrites in place', async (ctx) =>
      withDevice(factory, async (device, info) => {
        if (!device.supports.write) return ctx.skip('read-only device');
        const around = pattern(8, 6, info.sectorSize, 1);
        await device.write(8, [around]);
        const middle = pattern(10, 2, info.sectorSize, 2);
        await device.write(10, [middle]);
        const expected = around.slice();
        expected.set(middle, 2 * info.sectorSize);
        expectSameBytes(await readSectors(device, info, 8, 6), expected, 'sectors 8..13');
        expect(isZero(await readSectors(device, info, 7, 1))).toBe(true);
        expect(isZero(await readSectors(device, info, 14, 1))).toBe(true);
      }));

    it('keeps no reference to a buffer once its request has settled', async (ctx) =>
      withDevice(factory, async (device, info) => {
        if (!device.supports.write) return ctx.skip('read-only device');
        const data = pattern(2, 2, info.sectorSize, 3);
        const written = data.slice();
        await device.write(2, [written]);
        written.fill(0xff);
        const read = await readSectors(device, info, 2, 2);
        expectSameBytes(read, data, 'after changing the written buffer');
        read.fill(0x11);
        expectSameBytes(await readSectors(device, info, 2, 2), data, 'after changing the read buffer');
      }));

    it('lands many concurrent non-overlapping writes, then serves concurrent reads', async (ctx) =>
      withDevice(factory, async (device, info) => {
        if (!device.supports.write) return ctx.skip('read-only device');
        const runs: [number, number][] = [];
        for (let sector = 0; sector < info.sizeSectors && runs.length < 64; sector += 3) {
          runs.push([sector, Math.min(1 + (runs.length % 3), info.sizeSectors - sector)]);
        }
        await Promise.all(runs.map(([s, n]) => device.write(s, [pattern(s, n, info.sectorSize, 7)])));
        const reads = await Promise.all(runs.map(([s, n]) => readSectors(device, info, s, n)));
        reads.forEach((bytes, i) => {
          const [s, n] = runs[i]!;
          expectSameBytes(bytes, pattern(s, n, info.sectorSize, 7), `run at ${s}`);
        });
      }));

    it('sees a write in every read that starts after it resolved, even with other I/O in flight', async (ctx) =>
      withDevice(factory, async (device, info) => {
        if (!device.supports.write) return ctx.skip('read-only device');
        const background = Array.from({ length: 16 }, (_, i) => readSectors(device, info, (i * 5) % info.sizeSectors, 1));
        for (let round = 0; round < 8; round++) {
          const data = pattern(5, 1, info.sectorSize, round + 100);
          await device.write(5, [data]);
          expectSameBytes(await readSectors(device, info, 5, 1), data, `round ${round}`);
        }
        await Promise.all(background);
      }));
  });
}
