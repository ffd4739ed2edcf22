import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isBlockError, READ_ONLY_FALSE_FLAGS } from '@blk/core';
import { expectBlockError, isZero, pattern } from '@blk/conformance';
import { makeTempDir, rejection } from '@blk/test-kit';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_FMAP_BLOCK_SIZE, isFmapError, openFmapDevice, type FmapDevice, type FmapDeviceOptions } from '../src/index.js';
import { FailingIo } from './helpers/failing-io.js';

const temp = makeTempDir('blk-fmap-device-');
afterAll(() => temp.remove());
let serial = 0;
const fresh = () => join(temp.path, `device-${serial++}.fmap`);

const UNIT = 4096;
const PER_UNIT = UNIT / 512;
const FANOUT = (UNIT - 32) / 8;

async function read(device: FmapDevice, sector: number, count: number): Promise<Uint8Array> {
  const out = new Uint8Array(count * 512);
  await device.read(sector, [out]);
  return out;
}

describe('openFmapDevice', () => {
  it('creates a device that costs nothing until written; each first write to a unit takes one block', async () => {
    const path = fresh();
    const device = await openFmapDevice(path, { create: { sizeSectors: 2 ** 31 } });
    expect(await device.getInfo()).toEqual({ readWrite: true, sectorSize: 512, sizeSectors: 2 ** 31 });
    expect(device.supports).toMatchObject({ sparse: true, seek: true, discardZeroes: true, persistent: true, flush: true, fua: false });
    expect(device.stats()).toMatchObject({ unitBytes: DEFAULT_FMAP_BLOCK_SIZE, mappedUnits: 0, dataBlocks: 0, mapBlocks: 0 });
    await device.write(0, [new Uint8Array(512).fill(1)]);
    await device.write(5, [new Uint8Array(512).fill(2)]);
    expect(device.stats().dataBlocks).toBe(1);
    await device.write(2 ** 31 - 1, [new Uint8Array(512).fill(3)]);
    expect(device.stats().dataBlocks).toBe(2);
    await device.flush();
    // 1 TiB in 64 KiB units is 2^24 units: a root and two leaves of 8188 entries
    expect(device.stats()).toMatchObject({ mappedUnits: 2, dataBlocks: 2, mapBlocks: 3, leakedBlocks: 0, conflictingBlocks: 0 });
    await device.disconnect();
    expect(statSync(path).size).toBeLessThan(1 << 20);
  });

  it('with create, opens an existing device as it is and never truncates it', async () => {
    const path = fresh();
    const first = await openFmapDevice(path, { create: { sizeSectors: 64, blockSize: UNIT } });
    await first.write(3, [pattern(3, 2, 512)]);
    await first.disconnect();
    const again = await openFmapDevice(path, { create: { sizeSectors: 999, sectorSize: 4096 } });
    expect(await again.getInfo()).toEqual({ readWrite: true, sectorSize: 512, sizeSectors: 64 });
    expect(Buffer.from(await read(again, 3, 2)).equals(pattern(3, 2, 512))).toBe(true);
    await again.disconnect();
  });

  it('without create, a missing path is refused (IO, cause E_NOENT) and nothing is created', async () => {
    const path = fresh();
    const error = await rejection(openFmapDevice(path));
    expect(isBlockError(error, 'IO')).toBe(true);
    expect(isFmapError(error.cause, 'E_NOENT')).toBe(true);
    expect(existsSync(path)).toBe(false);
  });

  it('takes the sector size and the block size it is given, a block being at least a sector', async () => {
    const device = await openFmapDevice(fresh(), { create: { sizeSectors: 10, sectorSize: 65536 } });
    expect(device.stats().unitBytes).toBe(65536);
    await device.write(9, [new Uint8Array(65536).fill(7)]);
    const back = new Uint8Array(65536);
    await device.read(9, [back]);
    expect(back.every((b) => b === 7)).toBe(true);
    await device.disconnect();
    const big = await openFmapDevice(fresh(), { create: { sizeSectors: 10, sectorSize: 4096, blockSize: 1 << 20 } });
    expect(big.stats().unitBytes).toBe(1 << 20);
    await big.disconnect();
  });

  const bad: [string, FmapDeviceOptions | string][] = [
    ['create with readOnly', { readOnly: true, create: { sizeSectors: 8 } }],
    ['a block size that is not a multiple of 4096', { create: { sizeSectors: 8, blockSize: 1000 } }],
    ['a block size smaller than the sector', { create: { sizeSectors: 8, sectorSize: 8192, blockSize: 4096 } }],
    ['a negative size', { create: { sizeSectors: -1 } }],
    ['a size beyond 2^53 bytes', { create: { sizeSectors: 2 ** 50 } }],
    ['a sector size that is not a power of two', { create: { sizeSectors: 8, sectorSize: 1000 } }],
    ['an unknown engine', { engine: 'bogus' as 'pread', create: { sizeSectors: 8 } }],
    ['a zero cache', { cacheBytes: 0, create: { sizeSectors: 8 } }],
    ['options that are not an object', 'fast'],
  ];
  for (const [name, options] of bad) {
    it(`refuses ${name} with INVALID_ARGUMENT and creates nothing`, async () => {
      const path = fresh();
      await expectBlockError(openFmapDevice(path, options as FmapDeviceOptions), 'INVALID_ARGUMENT');
      expect(existsSync(path)).toBe(false);
    });
  }

  it('refuses an empty path with INVALID_ARGUMENT', async () => {
    await expectBlockError(openFmapDevice('', { create: { sizeSectors: 8 } }), 'INVALID_ARGUMENT');
  });
});

describe('units of allocation', () => {
  async function full(units: number, sizeSectors = units * PER_UNIT): Promise<FmapDevice> {
    const device = await openFmapDevice(fresh(), { create: { sizeSectors, blockSize: UNIT } });
    await device.write(0, [pattern(0, sizeSectors, 512)]);
    return device;
  }
  /** Sectors [sector, sector + count) of what `full` wrote. */
  const written = (sector: number, count: number) => pattern(0, sector + count, 512).subarray(sector * 512);

  it('discard and writeZeroes free whole units and zero the covered part of others', async () => {
    const device = await full(64);
    expect(device.stats().mappedUnits).toBe(64);
    await device.discard(4, 12); // half of unit 0, all of unit 1
    expect(device.stats().mappedUnits).toBe(63);
    const head = await read(device, 0, 16);
    expect(Buffer.from(head.subarray(0, 4 * 512)).equals(pattern(0, 4, 512))).toBe(true);
    expect(isZero(head.subarray(4 * 512))).toBe(true);
    await device.writeZeroes(20, 1);
    expect(device.stats().mappedUnits).toBe(63);
    expect(isZero(await read(device, 20, 1))).toBe(true);
    expect(Buffer.from(await read(device, 21, 3)).equals(written(21, 3))).toBe(true);
    await device.writeZeroes(0, 64 * PER_UNIT);
    expect(device.stats()).toMatchObject({ mappedUnits: 0, dataBlocks: 0, leakedBlocks: 0 });
    await device.disconnect();
  });

  it('a discard up to the end frees the last unit, also where it sticks out past the end', async () => {
    const device = await full(11, 10 * PER_UNIT + 3);
    await device.discard(10 * PER_UNIT, 3);
    expect(device.stats().mappedUnits).toBe(10);
    await device.discard(10 * PER_UNIT - 1, 1);
    expect(device.stats().mappedUnits).toBe(10);
    await device.disconnect();
  });

  it('seekMapped and seekUnmapped answer unit boundaries from a four-level map', async () => {
    const size = 2 ** 31; // 1 TiB of 4 KiB units: 2^28 units, four levels of 508
    const device = await openFmapDevice(fresh(), { create: { sizeSectors: size, blockSize: UNIT } });
    const far = FANOUT * FANOUT * 3 + 7;
    for (const unit of [5, far]) await device.write(unit * PER_UNIT + 2, [new Uint8Array(512).fill(1)]);
    await device.write(size - 1, [new Uint8Array(512).fill(1)]);
    expect(await device.seekMapped(0)).toBe(5 * PER_UNIT);
    expect(await device.seekMapped(5 * PER_UNIT + 3)).toBe(5 * PER_UNIT + 3);
    expect(await device.seekUnmapped(5 * PER_UNIT + 3)).toBe(6 * PER_UNIT);
    expect(await device.seekMapped(6 * PER_UNIT)).toBe(far * PER_UNIT);
    expect(await device.seekMapped(far * PER_UNIT + PER_UNIT)).toBe(size - PER_UNIT);
    expect(await device.seekUnmapped(size - PER_UNIT)).toBe(size);
    expect(await device.seekUnmapped(size - 1)).toBe(size);
    await device.discard(size - PER_UNIT, PER_UNIT);
    expect(await device.seekMapped(far * PER_UNIT + PER_UNIT)).toBe(size);
    await device.disconnect();
  });

  it('seekUnmapped skips a full leaf and finds the one hole in an almost full one', async () => {
    const device = await full(FANOUT + 10);
    expect(await device.seekUnmapped(0)).toBe((FANOUT + 10) * PER_UNIT);
    await device.discard((FANOUT + 4) * PER_UNIT, PER_UNIT);
    expect(await device.seekUnmapped(0)).toBe((FANOUT + 4) * PER_UNIT);
    await device.discard(300 * PER_UNIT, PER_UNIT);
    expect(await device.seekUnmapped(0)).toBe(300 * PER_UNIT);
    expect(await device.seekUnmapped(301 * PER_UNIT)).toBe((FANOUT + 4) * PER_UNIT);
    expect(await device.seekMapped(300 * PER_UNIT)).toBe(301 * PER_UNIT);
    await device.disconnect();
  });

  it('resize: a shrink frees the units past the end and zeroes the rest of the cut unit; a grow reads zeroes; both persist', async () => {
    const path = fresh();
    const device = await openFmapDevice(path, { create: { sizeSectors: 100 * PER_UNIT, blockSize: UNIT } });
    const data = pattern(0, 100 * PER_UNIT, 512);
    await device.write(0, [data]);
    await device.resize(50 * PER_UNIT + 3);
    expect(device.stats()).toMatchObject({ mappedUnits: 51, leakedBlocks: 0 });
    expect(Buffer.from(await read(device, 50 * PER_UNIT, 3)).equals(data.subarray(50 * PER_UNIT * 512, (50 * PER_UNIT + 3) * 512))).toBe(
      true,
    );
    await device.resize(2 ** 40);
    expect(await device.seekMapped(51 * PER_UNIT)).toBe(2 ** 40);
    await device.resize(100 * PER_UNIT);
    expect(isZero(await read(device, 50 * PER_UNIT + 3, 50 * PER_UNIT - 3))).toBe(true);
    await device.disconnect();
    const again = await openFmapDevice(path);
    expect((await again.getInfo()).sizeSectors).toBe(100 * PER_UNIT);
    expect(again.stats()).toMatchObject({ mappedUnits: 51, leakedBlocks: 0 });
    expect(Buffer.from(await read(again, 0, 50 * PER_UNIT + 3)).equals(data.subarray(0, (50 * PER_UNIT + 3) * 512))).toBe(true);
    expect(isZero(await read(again, 50 * PER_UNIT + 3, 50 * PER_UNIT - 3))).toBe(true);
    await again.resize(0);
    await again.flush(); // empty map blocks go at the commit
    expect(again.stats()).toMatchObject({ mappedUnits: 0, mapBlocks: 0, leakedBlocks: 0 });
    await again.disconnect();
  });
});

describe('durability and access', () => {
  it('flush commits; disconnect commits too; a reopen finds every byte', async () => {
    const path = fresh();
    const device = await openFmapDevice(path, { create: { sizeSectors: 4096, blockSize: UNIT } });
    await device.write(10, [pattern(10, 30, 512)]);
    await device.flush();
    await device.write(2000, [pattern(2000, 5, 512)]);
    await device.disconnect();
    const again = await openFmapDevice(path);
    expect(Buffer.from(await read(again, 10, 30)).equals(pattern(10, 30, 512))).toBe(true);
    expect(Buffer.from(await read(again, 2000, 5)).equals(pattern(2000, 5, 512))).toBe(true);
    expect(isZero(await read(again, 40, 1000))).toBe(true);
    await again.disconnect();
  });

  it('is locked while open: a second open, read-only too, is refused with E_LOCKED', async () => {
    const path = fresh();
    const device = await openFmapDevice(path, { create: { sizeSectors: 64 } });
    for (const readOnly of [false, true]) {
      const error = await rejection(openFmapDevice(path, { readOnly }));
      expect(isBlockError(error, 'IO') && isFmapError(error.cause, 'E_LOCKED'), String(error)).toBe(true);
    }
    await device.disconnect();
    await (await openFmapDevice(path, { readOnly: true })).disconnect();
  });

  it('read-only: refuses changes, offers no write-type method, flush does nothing, and the file stays byte for byte as it was', async () => {
    const path = fresh();
    const writer = await openFmapDevice(path, { create: { sizeSectors: 256, blockSize: UNIT } });
    await writer.write(8, [pattern(8, 16, 512)]);
    await writer.disconnect();
    const before = readFileSync(path);
    const reader = await openFmapDevice(path, { readOnly: true });
    expect(reader.supports.write).toBe(false);
    expect((await reader.getInfo()).readWrite).toBe(false);
    await expectBlockError(reader.write(0, [new Uint8Array(512)]), 'READ_ONLY');
    for (const flag of READ_ONLY_FALSE_FLAGS) expect(reader.supports[flag]).toBe(false);
    for (const method of ['discard', 'writeZeroes', 'resize']) expect(Reflect.get(reader, method)).toBeUndefined();
    await reader.flush();
    expect(Buffer.from(await read(reader, 8, 16)).equals(pattern(8, 16, 512))).toBe(true);
    await reader.disconnect();
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('after a failed flush, changes are refused until a flush succeeds; nothing acknowledged is lost', async () => {
    const path = fresh();
    const io = new FailingIo();
    const device = await openFmapDevice(path, { io, create: { sizeSectors: 1024, blockSize: UNIT } });
    await device.write(0, [pattern(0, 8, 512)]);
    io.failing.add('datasync');
    expect(isBlockError(await rejection(device.flush()), 'IO')).toBe(true);
    const refused = await rejection(device.write(100, [new Uint8Array(512)]));
    expect(isBlockError(refused, 'IO')).toBe(true);
    expect(refused.message).toMatch(/the last flush failed.*refused until a flush succeeds/);
    await expectBlockError(device.discard(0, 8), 'IO');
    await expectBlockError(device.resize(8), 'IO');
    expect(Buffer.from(await read(device, 0, 8)).equals(pattern(0, 8, 512))).toBe(true);
    io.failing.clear();
    await device.flush();
    await device.write(100, [pattern(100, 1, 512)]);
    await device.disconnect();
    const again = await openFmapDevice(path);
    expect(Buffer.from(await read(again, 0, 8)).equals(pattern(0, 8, 512))).toBe(true);
    expect(Buffer.from(await read(again, 100, 1)).equals(pattern(100, 1, 512))).toBe(true);
    expect(again.stats()).toMatchObject({ leakedBlocks: 0, conflictingBlocks: 0 });
    await again.disconnect();
  });

  it('a write the disk refuses rejects IO; once the disk recovers every acknowledged write is there', async () => {
    const path = fresh();
    const io = new FailingIo();
    // a 64 KiB cache holds 16 blocks: new units soon push dirty ones out to the failing disk
    const device = await openFmapDevice(path, { io, cacheBytes: 64 * 1024, create: { sizeSectors: 64 * PER_UNIT, blockSize: UNIT } });
    io.failing.add('write');
    const acknowledged: number[] = [];
    let failures = 0;
    for (let unit = 0; unit < 64; unit++) {
      const sector = unit * PER_UNIT;
      await device.write(sector, [pattern(sector, PER_UNIT, 512)]).then(
        () => acknowledged.push(unit),
        (error: unknown) => {
          expect(isBlockError(error, 'IO'), String(error)).toBe(true);
          failures++;
        },
      );
    }
    expect(failures).toBeGreaterThan(0);
    expect(device.stats()).toMatchObject({ leakedBlocks: 0, conflictingBlocks: 0 });
    expect(isBlockError(await rejection(device.flush()), 'IO')).toBe(true);
    io.failing.clear();
    await device.flush();
    await device.disconnect();
    const again = await openFmapDevice(path);
    for (const unit of acknowledged) {
      expect(
        Buffer.from(await read(again, unit * PER_UNIT, PER_UNIT)).equals(pattern(unit * PER_UNIT, PER_UNIT, 512)),
        `unit ${unit}`,
      ).toBe(true);
    }
    expect(again.stats()).toMatchObject({ leakedBlocks: 0, conflictingBlocks: 0 });
    await again.disconnect();
  });

  it('disconnect never rejects: when its commit fails the file keeps its last commit', async () => {
    const path = fresh();
    const io = new FailingIo();
    const device = await openFmapDevice(path, { io, create: { sizeSectors: 1024, blockSize: UNIT } });
    await device.write(0, [pattern(0, 8, 512)]);
    await device.flush();
    await device.write(512, [pattern(512, 8, 512)]);
    io.failing.add('datasync');
    io.failing.add('write');
    await device.disconnect();
    await device.disconnect();
    await expectBlockError(device.read(0, [new Uint8Array(512)]), 'DISCONNECTED');
    const again = await openFmapDevice(path);
    expect(Buffer.from(await read(again, 0, 8)).equals(pattern(0, 8, 512))).toBe(true);
    expect(isZero(await read(again, 512, 8))).toBe(true);
    expect(again.stats()).toMatchObject({ mappedUnits: 1, leakedBlocks: 0, conflictingBlocks: 0 });
    await again.disconnect();
  });
});
