import { existsSync, mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isBlockError } from '@blk/core';
import { makeTempDir, rejection } from '@blk/test-kit';
import { afterAll, describe, expect, it } from 'vitest';
import { BlockFile, nativeStatus, openFileDevice, type FileDeviceOptions } from '../src/index.js';

const temp = makeTempDir('blk-fmap-dev-');
afterAll(() => temp.remove());
let serial = 0;

function sparseFile(bytes: number): string {
  const path = join(temp.path, `dev-${serial++}.img`);
  writeFileSync(path, '');
  truncateSync(path, bytes);
  return path;
}

const variants: { name: string; options: FileDeviceOptions }[] = [
  { name: 'without the addon', options: { native: false } },
  { name: 'with blocking io', options: { io: 'sync' } },
];
if (nativeStatus().available) variants.unshift({ name: 'with the addon', options: {} });

for (const { name, options } of variants) {
  describe(`file device ${name}`, () => {
    it('reports sparse exactly when holes can be punched, and its I/O engine', async () => {
      const device = await openFileDevice(sparseFile(256 * 512), options);
      expect(device.supports.sparse).toBe(options.native !== false && nativeStatus().available);
      const engine = options.io === 'sync' ? 'sync' : options.native !== false && nativeStatus().available ? 'native' : 'libuv';
      expect(device.ioEngine).toBe(engine);
      await device.disconnect();
    });

    it('a trailing hole is "nothing mapped" (sizeSectors), not an error (mirage-block-unix ENXIO bug)', async () => {
      const device = await openFileDevice(sparseFile(256 * 512), options);
      expect(await device.seekMapped(0)).toBe(256);
      expect(await device.seekUnmapped(0)).toBe(0);
      await device.write(100, [new Uint8Array(512).fill(1)]);
      const mapped = await device.seekMapped(0);
      expect(mapped).toBeLessThanOrEqual(100);
      const unmapped = await device.seekUnmapped(100);
      expect(unmapped).toBeGreaterThan(100);
      expect(unmapped).toBeLessThanOrEqual(256);
      const probe = new Uint8Array(512).fill(9);
      if (unmapped < 256) {
        await device.read(unmapped, [probe]);
        expect(probe.every((x) => x === 0)).toBe(true);
      }
      // past the data the rest of the file is one trailing hole
      expect(await device.seekMapped(Math.max(unmapped, 128))).toBe(256);
      expect(await device.seekMapped(256)).toBe(256);
      expect(await device.seekUnmapped(256)).toBe(256);
      expect(await device.seekUnmapped(255)).toBe(255);
      await device.disconnect();
    });

    it('discard keeps the file size (PUNCH_HOLE needs KEEP_SIZE), zeroes exactly its range, and frees space', async () => {
      const path = sparseFile(256 * 512);
      const device = await openFileDevice(path, options);
      await device.write(0, [new Uint8Array(256 * 512).fill(0xaa)]);
      await device.flush();
      const before = statSync(path).blocks;
      await device.discard(3, 5);
      await device.discard(64, 128);
      await device.discard(248, 8);
      await device.discard(10, 0);
      await device.flush();
      expect(statSync(path).size).toBe(256 * 512);
      const all = new Uint8Array(256 * 512);
      await device.read(0, [all]);
      for (let s = 0; s < 256; s++) {
        const zero = (s >= 3 && s < 8) || (s >= 64 && s < 192) || s >= 248;
        const sector = all.subarray(s * 512, (s + 1) * 512);
        expect(
          sector.every((x) => x === (zero ? 0 : 0xaa)),
          `sector ${s}`,
        ).toBe(true);
      }
      if (device.supports.sparse) expect(statSync(path).blocks).toBeLessThan(before);
      await device.disconnect();
    });

    it('writeZeroes zeroes, and reads see writes once flushed to the file', async () => {
      const path = sparseFile(64 * 4096);
      const device = await openFileDevice(path, { ...options, sectorSize: 4096 });
      await device.write(2, [new Uint8Array(4096).fill(5), new Uint8Array(8192).fill(6)]);
      await device.flush();
      const raw = readFileSync(path);
      expect(raw[2 * 4096]).toBe(5);
      expect(raw[3 * 4096]).toBe(6);
      expect(raw[5 * 4096 - 1]).toBe(6);
      await device.writeZeroes(3, 1);
      const check = new Uint8Array(3 * 4096);
      await device.read(2, [check]);
      expect(check[0]).toBe(5);
      expect(check.subarray(4096, 8192).every((x) => x === 0)).toBe(true);
      expect(check[8192]).toBe(6);
      await device.disconnect();
    });

    it('resize while writes are in flight leaves the file exactly the new size', async () => {
      const path = sparseFile(256 * 512);
      const device = await openFileDevice(path, options);
      const writes = Array.from({ length: 32 }, (_, i) => device.write(i * 8, [new Uint8Array(4096).fill(i + 1)]));
      const resized = device.resize(64);
      const results = await Promise.allSettled([...writes, resized]);
      expect(results.at(-1)!.status).toBe('fulfilled');
      expect((await device.getInfo()).sizeSectors).toBe(64);
      expect(statSync(path).size).toBe(64 * 512);
      const after = await Promise.allSettled([device.write(0, [new Uint8Array(512)])]);
      expect(after[0].status).toBe('fulfilled');
      await device.disconnect();
    });
  });
}

describe('openFileDevice refuses what it cannot serve', () => {
  it('a missing file is IO (ENOENT) and is not created', async () => {
    const path = join(temp.path, 'absent.img');
    const error = await rejection(openFileDevice(path));
    expect(isBlockError(error, 'IO')).toBe(true);
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ENOENT');
    expect(existsSync(path)).toBe(false);
  });

  it('create makes a sparse file of the size asked, never truncates an existing one', async () => {
    const path = join(temp.path, 'created.img');
    expect(isBlockError(await rejection(openFileDevice(path, { create: true })), 'INVALID_ARGUMENT')).toBe(true);
    const device = await openFileDevice(path, { create: true, sizeSectors: 100 });
    await device.write(99, [new Uint8Array(512).fill(1)]);
    await device.disconnect();
    expect(statSync(path).size).toBe(51200);
    const again = await openFileDevice(path, { create: true, sizeSectors: 10 });
    expect((await again.getInfo()).sizeSectors).toBe(100);
    await again.disconnect();
    expect(isBlockError(await rejection(openFileDevice(path, { create: true, readOnly: true })), 'INVALID_ARGUMENT')).toBe(true);
  });

  it('bad sector sizes, files that are not whole sectors, directories, bad paths', async () => {
    const odd = sparseFile(1000);
    expect(isBlockError(await rejection(openFileDevice(odd)), 'INVALID_ARGUMENT')).toBe(true);
    const ok = sparseFile(4096);
    for (const sectorSize of [0, 100, 513, 131072]) {
      expect(isBlockError(await rejection(openFileDevice(ok, { sectorSize })), 'INVALID_ARGUMENT')).toBe(true);
    }
    const dir = join(temp.path, 'a-dir');
    mkdirSync(dir);
    expect(isBlockError(await rejection(openFileDevice(dir, { readOnly: true })))).toBe(true);
    expect(isBlockError(await rejection(openFileDevice('')), 'INVALID_ARGUMENT')).toBe(true);
    expect(isBlockError(await rejection(openFileDevice(ok, null as unknown as FileDeviceOptions)), 'INVALID_ARGUMENT')).toBe(true);
    expect(isBlockError(await rejection(openFileDevice(ok, { io: 'fast' as 'sync' })), 'INVALID_ARGUMENT')).toBe(true);
  });

  it('lock: a second read-write open is refused until the first disconnects; readers are let in', async () => {
    const path = sparseFile(64 * 512);
    const first = await openFileDevice(path, { lock: true });
    const refused = await rejection(openFileDevice(path, { lock: true }));
    expect(isBlockError(refused, 'IO')).toBe(true);
    expect(refused.message).toContain('locked');
    const reader = await openFileDevice(path, { lock: true, readOnly: true });
    expect((await reader.getInfo()).readWrite).toBe(false);
    await reader.disconnect();
    await first.disconnect();
    const second = await openFileDevice(path, { lock: true });
    await second.disconnect();
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it('shares its lock with BlockFile: a device and a BlockFile cannot both hold one file', async () => {
    const path = join(temp.path, 'shared.fmap');
    const file = BlockFile.create(path, { blockSize: 4096 });
    const refused = await rejection(openFileDevice(path, { lock: true }));
    expect(isBlockError(refused, 'IO')).toBe(true);
    file.close();
  });
});
