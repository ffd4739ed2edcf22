import type { BlockDevice, BlockErrorCode, BlockInfo } from '@blk/core';
import { describe, it } from 'vitest';
import { expectSameBytes, readSectors, withDevice, type DeviceFactory } from '../device-fixture.js';
import { expectBlockError } from '../expect-block-error.js';
import { pattern } from '../patterns.js';

interface BadSector {
  readonly name: string;
  readonly sector: (size: number) => number;
  readonly sectors: number;
  readonly code: BlockErrorCode;
}

const BAD_SECTORS: readonly BadSector[] = [
  { name: 'negative (-1)', sector: () => -1, sectors: 1, code: 'OUT_OF_RANGE' },
  { name: 'fractional (0.5)', sector: () => 0.5, sectors: 1, code: 'INVALID_ARGUMENT' },
  { name: 'NaN', sector: () => Number.NaN, sectors: 1, code: 'INVALID_ARGUMENT' },
  { name: 'Infinity', sector: () => Number.POSITIVE_INFINITY, sectors: 1, code: 'INVALID_ARGUMENT' },
  { name: '2^53', sector: () => 2 ** 53, sectors: 1, code: 'OUT_OF_RANGE' },
  { name: 'MAX_SAFE_INTEGER', sector: () => Number.MAX_SAFE_INTEGER, sectors: 1, code: 'OUT_OF_RANGE' },
  { name: 'the size (one past the last sector)', sector: (size) => size, sectors: 1, code: 'OUT_OF_RANGE' },
  { name: 'size - 1 with 2 sectors (straddling the end)', sector: (size) => size - 1, sectors: 2, code: 'OUT_OF_RANGE' },
  { name: 'size - 11 with 12 sectors', sector: (size) => size - 11, sectors: 12, code: 'OUT_OF_RANGE' },
  { name: 'size + 1 with an empty list', sector: (size) => size + 1, sectors: 0, code: 'OUT_OF_RANGE' },
];

interface BadBuffers {
  readonly name: string;
  readonly buffers: (sectorSize: number) => unknown;
}

const BAD_BUFFERS: readonly BadBuffers[] = [
  { name: 'sectorSize - 1 bytes', buffers: (ss) => [new Uint8Array(ss - 1)] },
  { name: 'sectorSize + 1 bytes', buffers: (ss) => [new Uint8Array(ss + 1)] },
  { name: 'a good buffer then a bad one', buffers: (ss) => [new Uint8Array(ss).fill(9), new Uint8Array(ss + 1)] },
  { name: 'an ArrayBuffer in the list', buffers: (ss) => [new Uint8Array(ss), new ArrayBuffer(ss)] },
  { name: 'a DataView', buffers: (ss) => [new DataView(new ArrayBuffer(ss))] },
  { name: 'a plain array of numbers', buffers: (ss) => [Array.from({ length: ss }, () => 1)] },
  { name: 'null in the list', buffers: () => [null] },
  { name: 'a bare Uint8Array instead of a list', buffers: (ss) => new Uint8Array(ss) },
];

/** Puts recognisable data at both ends so a request that wrongly touched them shows. */
async function seed(device: BlockDevice, info: BlockInfo): Promise<() => Promise<void>> {
  const n = Math.min(16, info.sizeSectors >> 1);
  const head = pattern(0, n, info.sectorSize, 77);
  const tail = pattern(info.sizeSectors - n, n, info.sectorSize, 78);
  if (device.supports.write) {
    await device.write(0, [head]);
    await device.write(info.sizeSectors - n, [tail]);
  }
  const expectedHead = device.supports.write ? head : await readSectors(device, info, 0, n);
  const expectedTail = device.supports.write ? tail : await readSectors(device, info, info.sizeSectors - n, n);
  return async () => {
    expectSameBytes(await readSectors(device, info, 0, n), expectedHead, 'first sectors after a refused request');
    expectSameBytes(await readSectors(device, info, info.sizeSectors - n, n), expectedTail, 'last sectors after a refused request');
  };
}

const call = (device: BlockDevice, name: string, ...args: unknown[]): Promise<unknown> =>
  (device as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[name]!(...args);

export function badRequestTests(factory: DeviceFactory): void {
  describe('refused requests change nothing', () => {
    for (const bad of BAD_SECTORS) {
      it(`refuses a sector that is ${bad.name} with ${bad.code}`, () =>
        withDevice(factory, async (device, info) => {
          const unchanged = await seed(device, info);
          const sector = bad.sector(info.sizeSectors);
          await expectBlockError(device.read(sector, [new Uint8Array(bad.sectors * info.sectorSize)]), bad.code);
          if (device.supports.write) {
            const data = new Uint8Array(bad.sectors * info.sectorSize).fill(0xcd);
            await expectBlockError(device.write(sector, [data]), bad.code);
          }
          await unchanged();
        }));
    }

    for (const bad of BAD_BUFFERS) {
      it(`refuses buffers given as ${bad.name} with INVALID_BUFFER`, () =>
        withDevice(factory, async (device, info) => {
          const unchanged = await seed(device, info);
          await expectBlockError(call(device, 'read', 0, bad.buffers(info.sectorSize)), 'INVALID_BUFFER');
          if (device.supports.write) {
            await expectBlockError(call(device, 'write', 0, bad.buffers(info.sectorSize)), 'INVALID_BUFFER');
          }
          await unchanged();
        }));
    }

    it('refuses out-of-range and malformed discard, writeZeroes, seek and resize arguments', async (ctx) =>
      withDevice(factory, async (device, info) => {
        const { supports } = device;
        if (!supports.write || !(supports.discard || supports.writeZeroes || supports.seek || supports.resize)) {
          return ctx.skip('no writable range operation to check');
        }
        const unchanged = await seed(device, info);
        const size = info.sizeSectors;
        for (const op of ['discard', 'writeZeroes'] as const) {
          if (!supports[op]) continue;
          await expectBlockError(call(device, op, size - 1, 2), 'OUT_OF_RANGE');
          await expectBlockError(call(device, op, size + 1, 0), 'OUT_OF_RANGE');
          await expectBlockError(call(device, op, -1, 1), 'OUT_OF_RANGE');
          await expectBlockError(call(device, op, 0, -1), 'INVALID_ARGUMENT');
          await expectBlockError(call(device, op, 0, 1.5), 'INVALID_ARGUMENT');
          await expectBlockError(call(device, op, Number.NaN, 1), 'INVALID_ARGUMENT');
        }
        if (supports.seek) {
          for (const op of ['seekMapped', 'seekUnmapped']) {
            await expectBlockError(call(device, op, size + 1), 'OUT_OF_RANGE');
            await expectBlockError(call(device, op, -1), 'OUT_OF_RANGE');
            await expectBlockError(call(device, op, 0.5), 'INVALID_ARGUMENT');
          }
        }
        if (supports.resize) {
          for (const bad of [-1, 0.5, Number.NaN, 2 ** 53]) await expectBlockError(call(device, 'resize', bad), 'INVALID_ARGUMENT');
          const after = await device.getInfo();
          if (after.sizeSectors !== size) throw new Error(`a refused resize changed the size to ${after.sizeSectors}`);
        }
        await unchanged();
      }));
  });
}
