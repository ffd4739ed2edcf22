import { BlockError, exposeDevice, extents, isBlockError, type BlockDevice } from '@blk/core';
import { expectBlockError, withFaults, withGate, withLatency } from '@blk/conformance';
import { Ramdisk } from '@blk/ramdisk';
import { describe, expect, it } from 'vitest';
import { overlay } from '../src/index.js';
import { VolatileDisk } from './helpers/volatile-disk.js';

const filled = (sectors: number, value: number, ss = 512) => new Uint8Array(sectors * ss).fill(value);

async function bytesOf(device: BlockDevice, sector: number, count: number): Promise<Uint8Array> {
  const { sectorSize } = await device.getInfo();
  const out = new Uint8Array(count * sectorSize).fill(0xee);
  await device.read(sector, [out]);
  return out;
}

/** A base of 64 sectors whose sector s holds the byte s + 1, all mapped. */
async function patternedBase(sectorSize = 512): Promise<Ramdisk> {
  const base = new Ramdisk({ sizeSectors: 64, sectorSize });
  for (let s = 0; s < 64; s++) await base.write(s, [filled(1, s + 1, sectorSize)]);
  return base;
}

const firstBytes = (bytes: Uint8Array, ss = 512) => Array.from({ length: bytes.byteLength / ss }, (_, i) => bytes[i * ss]);

describe('copy-on-write', () => {
  it('keeps the base untouched, copies the rest of a partly written block up, and reads each block from the right side', async () => {
    const base = await patternedBase();
    const top = new Ramdisk({ sizeSectors: 0 });
    const ov = await overlay(base, top, { blockSize: 4096 });
    await ov.write(9, [filled(2, 0xaa)]);
    expect(firstBytes(await bytesOf(ov, 8, 8))).toEqual([9, 0xaa, 0xaa, 12, 13, 14, 15, 16]);
    expect(firstBytes(await bytesOf(base, 8, 8))).toEqual([9, 10, 11, 12, 13, 14, 15, 16]);
    expect(ov.changes).toEqual({ dataBlocks: 1, zeroBlocks: 0 });
    // A write over a block boundary copies up the head of one block and the tail of the next.
    await ov.write(22, [filled(4, 0xbb)]);
    expect(firstBytes(await bytesOf(ov, 16, 16))).toEqual([17, 18, 19, 20, 21, 22, 0xbb, 0xbb, 0xbb, 0xbb, 27, 28, 29, 30, 31, 32]);
    expect(ov.changes.dataBlocks).toBe(3);
    await ov.disconnect();
  });

  it('shadows the base with zeroes on discard and writeZeroes, whole blocks and parts of them', async () => {
    const base = await patternedBase();
    const ov = await overlay(base, new Ramdisk({ sizeSectors: 0 }), { blockSize: 4096 });
    await ov.discard!(8, 8);
    await ov.writeZeroes!(20, 2);
    await ov.discard!(30, 5);
    const got = firstBytes(await bytesOf(ov, 0, 40));
    const want = Array.from({ length: 40 }, (_, s) => ((s >= 8 && s < 16) || s === 20 || s === 21 || (s >= 30 && s < 35) ? 0 : s + 1));
    expect(got).toEqual(want);
    expect(await ov.seekUnmapped!(0)).toBe(8);
    expect(await ov.seekMapped!(8)).toBe(16);
    await ov.write(10, [filled(1, 0xcc)]);
    expect(firstBytes(await bytesOf(ov, 8, 8))).toEqual([0, 0, 0xcc, 0, 0, 0, 0, 0]);
    await ov.disconnect();
  });

  it('reports the union of the base and the top in seeks and extents', async () => {
    const base = new Ramdisk({ sizeSectors: 256, pageSize: 4096 });
    await base.write(40, [filled(8, 1)]);
    const ov = await overlay(base, new Ramdisk({ sizeSectors: 0 }), { blockSize: 4096 });
    await ov.write(200, [filled(8, 2)]);
    await ov.discard!(40, 4);
    const runs = [];
    for await (const e of extents(ov)) runs.push(e);
    expect(runs).toEqual([
      // A partial discard of a block the base has data in copies the block up: mapped as a whole.
      { sector: 0, count: 40, mapped: false },
      { sector: 40, count: 8, mapped: true },
      { sector: 48, count: 152, mapped: false },
      { sector: 200, count: 8, mapped: true },
      { sector: 208, count: 48, mapped: false },
    ]);
    await ov.disconnect();
  });

  it('never calls a 4096-byte sector zero when part of it holds data on a 512-byte base', async () => {
    const base = new Ramdisk({ sizeSectors: 64, pageSize: 4096 });
    await base.write(8, [filled(1, 7)]);
    await base.discard(9, 7);
    const ov = await overlay(base, new Ramdisk({ sizeSectors: 0, sectorSize: 4096 }), { blockSize: 8192 });
    expect((await ov.getInfo()).sectorSize).toBe(4096);
    expect(await ov.seekMapped!(0)).toBe(1);
    expect(await ov.seekUnmapped!(1)).toBe(2);
    expect((await bytesOf(ov, 1, 1))[0]).toBe(7);
    await ov.disconnect();
  });

  it('loses no write when many partial writes copy up the same block at once', async () => {
    const base = await patternedBase();
    const slowTop = withLatency(new Ramdisk({ sizeSectors: 0 }), { maxMs: 2, random: () => 0.5 });
    const ov = await overlay(withLatency(base, { maxMs: 2, random: () => 0.7 }), slowTop, { blockSize: 16384 });
    await Promise.all(Array.from({ length: 32 }, (_, s) => ov.write(s, [filled(1, 0x80 + s)])));
    expect(firstBytes(await bytesOf(ov, 0, 34))).toEqual([...Array.from({ length: 32 }, (_, s) => 0x80 + s), 33, 34]);
    await ov.disconnect();
  });
});

describe('commit', () => {
  it('turns a child that throws a non-Error (even one whose toString throws) into a rejected BlockError', async () => {
    const base = await patternedBase();
    const hostile = { toString: [] };
    // A base whose read throws synchronously, and throws something that is not an Error.
    const throwing = exposeDevice(base.supports, {
      getInfo: () => base.getInfo(),
      read: () => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error
        throw hostile;
      },
      write: (sector, buffers) => base.write(sector, buffers),
      disconnect: () => base.disconnect(),
    });
    const ov = await overlay(throwing, new Ramdisk({ sizeSectors: 0 }), { blockSize: 4096 });
    const failure = await ov.read(0, [new Uint8Array(512)]).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isBlockError(failure)).toBe(true);
    await ov.disconnect();
  });

  it('writes the changes into the base, then holds none', async () => {
    const base = await patternedBase();
    const top = new Ramdisk({ sizeSectors: 0 });
    const ov = await overlay(base, top, { blockSize: 4096 });
    await ov.write(3, [filled(2, 0xaa)]);
    await ov.discard!(16, 16);
    const expected = await bytesOf(ov, 0, 64);
    const progress: number[] = [];
    await ov.commit({ onProgress: (done) => progress.push(done) });
    expect(progress.at(-1)).toBe(3);
    expect(ov.changes).toEqual({ dataBlocks: 0, zeroBlocks: 0 });
    expect(await bytesOf(base, 0, 64)).toEqual(expected);
    expect(await bytesOf(ov, 0, 64)).toEqual(expected);
    await ov.disconnect();
    const again = await overlay(base, top);
    expect(again.changes).toEqual({ dataBlocks: 0, zeroBlocks: 0 });
    await again.disconnect();
  });

  it('keeps a write made while it runs', async () => {
    const base = await patternedBase();
    const ov = await overlay(withLatency(base, { maxMs: 2, random: () => 0.5 }), new Ramdisk({ sizeSectors: 0 }), { blockSize: 1024 });
    for (let s = 0; s < 64; s += 2) await ov.write(s, [filled(1, 0xa0)]);
    const committing = ov.commit();
    const writes = Array.from({ length: 16 }, (_, i) => ov.write(i * 4 + 1, [filled(1, 0xb0 + i)]));
    await Promise.all([committing, ...writes]);
    const got = firstBytes(await bytesOf(ov, 0, 64));
    for (let s = 0; s < 64; s++) expect(got[s], `sector ${s}`).toBe(s % 2 === 0 ? 0xa0 : s % 4 === 1 ? 0xb0 + (s - 1) / 4 : s + 1);
    await ov.disconnect();
  });

  it('is refused on a read-only base and after disconnect', async () => {
    const { readOnlyView } = await import('@blk/core');
    const ov = await overlay(readOnlyView(await patternedBase()), new Ramdisk({ sizeSectors: 0 }));
    await ov.write(0, [filled(1, 1)]);
    await expectBlockError(ov.commit(), 'READ_ONLY');
    await ov.disconnect();
    await expectBlockError(ov.commit(), 'DISCONNECTED');
  });

  it('stops on the signal and leaves every block readable', async () => {
    const base = await patternedBase();
    const ov = await overlay(base, new Ramdisk({ sizeSectors: 0 }), { blockSize: 512 });
    await ov.write(0, [filled(64, 0x55)]);
    const stop = new AbortController();
    stop.abort(new BlockError('INVALID_ARGUMENT', 'stopped'));
    await expect(ov.commit({ signal: stop.signal })).rejects.toThrow('stopped');
    expect(firstBytes(await bytesOf(ov, 0, 64))).toEqual(Array(64).fill(0x55));
    await ov.disconnect();
  });
});

describe('faults and durability', () => {
  it('rejects IO when the top fails mid-write, and keeps everything that was acknowledged and flushed', async () => {
    const disk = new VolatileDisk(512, 4096);
    let failing = false;
    const top = withFaults(disk.device(), ({ op }) => failing && (op === 'write' || op === 'flush'));
    const base = await patternedBase();
    const ov = await overlay(base, top, { blockSize: 4096 });
    await ov.write(0, [filled(4, 0x11)]);
    await ov.flush!();
    failing = true;
    const failed = await ov.write(16, [filled(2, 0x22)]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isBlockError(failed, 'IO'), String(failed)).toBe(true);
    expect(firstBytes(await bytesOf(ov, 16, 2))).toEqual([17, 18]);
    await ov.write(1, [filled(1, 0x33)]).catch(() => undefined);
    await expectBlockError(ov.flush!(), 'IO');
    // The power goes: nothing unflushed survives.
    disk.crash(() => false);
    const again = await overlay(base, disk.device());
    expect(firstBytes(await bytesOf(again, 0, 8))).toEqual([0x11, 0x11, 0x11, 0x11, 5, 6, 7, 8]);
    expect(firstBytes(await bytesOf(again, 16, 2))).toEqual([17, 18]);
    await again.disconnect();
  });

  it('writes the map again after a failed flush, once the top works again', async () => {
    const disk = new VolatileDisk(512, 4096);
    let failing = false;
    const top = withFaults(disk.device(), ({ op }) => failing && op === 'flush');
    const base = await patternedBase();
    const ov = await overlay(base, top, { blockSize: 4096 });
    await ov.write(8, [filled(8, 0x44)]);
    failing = true;
    await expectBlockError(ov.flush!(), 'IO');
    failing = false;
    await ov.flush!();
    disk.crash(() => false);
    const again = await overlay(base, disk.device());
    expect(firstBytes(await bytesOf(again, 8, 8))).toEqual(Array(8).fill(0x44));
    await again.disconnect();
  });

  it('rejects IO and changes nothing when the base fails during a copy-up', async () => {
    let failing = true;
    const base = withFaults(await patternedBase(), ({ op }) => failing && op === 'read');
    const ov = await overlay(base, new Ramdisk({ sizeSectors: 0 }), { blockSize: 4096 });
    await expectBlockError(ov.write(9, [filled(1, 0x66)]), 'IO');
    expect(ov.changes).toEqual({ dataBlocks: 0, zeroBlocks: 0 });
    failing = false;
    expect(firstBytes(await bytesOf(ov, 8, 2))).toEqual([9, 10]);
    await ov.disconnect();
  });

  it('rejects DISCONNECTED for everything after disconnect, and flushes the map on the way out', async () => {
    const disk = new VolatileDisk(512, 4096);
    const base = await patternedBase();
    const ov = await overlay(base, disk.device());
    await ov.write(0, [filled(1, 0x77)]);
    await ov.disconnect();
    for (const call of [
      () => ov.read(0, [new Uint8Array(512)]),
      () => ov.write(0, [new Uint8Array(512)]),
      () => ov.flush!(),
      () => ov.discard!(0, 1),
      () => ov.writeZeroes!(0, 1),
      () => ov.seekMapped!(0),
      () => ov.seekUnmapped!(0),
      () => ov.commit(),
      () => ov.getInfo(),
    ]) {
      await expectBlockError(call(), 'DISCONNECTED');
    }
    disk.crash(() => false);
    const again = await overlay(base, disk.device());
    expect((await bytesOf(again, 0, 1))[0]).toBe(0x77);
    await again.disconnect();
  });

  it('waits on disconnect for a write held up behind another write to the same block, and keeps both', async () => {
    const disk = new VolatileDisk(512, 4096);
    const base = await patternedBase();
    const gate = withGate(disk.device(), (op, args) => op === 'write' && (args[0] as number) >= 16);
    const ov = await overlay(base, gate.device, { blockSize: 4096 });
    const first = ov.write(1, [filled(1, 0xa1)]);
    await gate.reached();
    // Into the next block too, which the top does not hold yet: its map entry changes.
    const second = ov.write(2, [filled(8, 0xa2)]);
    const closing = ov.disconnect();
    gate.open();
    await Promise.all([first, second, closing]);
    disk.crash(() => false);
    const again = await overlay(base, disk.device());
    expect(firstBytes(await bytesOf(again, 0, 12))).toEqual([1, 0xa1, ...Array<number>(8).fill(0xa2), 11, 12]);
    await again.disconnect();
  });

  it('reports a base that shrank underneath it as an IO error, not as the caller’s mistake', async () => {
    const base = await patternedBase();
    const ov = await overlay(base, new Ramdisk({ sizeSectors: 0 }));
    await base.resize(32);
    await expectBlockError(ov.read(40, [new Uint8Array(512)]), 'IO');
    await ov.disconnect();
  });
});
