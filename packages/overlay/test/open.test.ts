import { isBlockError, readOnlyView, type BlockDevice } from '@blk/core';
import { expectBlockError } from '@blk/conformance';
import { Ramdisk } from '@blk/ramdisk';
import { connect as connectMem, destroy as destroyMem } from '@blk/simple-mem';
import { rejection } from '@blk/test-kit';
import { describe, expect, it } from 'vitest';
import { FORMAT_VERSION, isOverlayError, overlay, overlayTopBytes, type OverlayErrorReason } from '../src/index.js';
import { crc32 } from '../src/crc32.js';

async function expectReason(promise: Promise<unknown>, reason: OverlayErrorReason, code = 'INVALID_ARGUMENT'): Promise<void> {
  const error = await rejection(promise);
  expect(isOverlayError(error, reason), `${String(error)} has reason ${reason}`).toBe(true);
  expect(isBlockError(error, code as never)).toBe(true);
}

async function bytesOf(device: BlockDevice, sector: number, count: number): Promise<Uint8Array> {
  const { sectorSize } = await device.getInfo();
  const out = new Uint8Array(count * sectorSize);
  await device.read(sector, [out]);
  return out;
}

async function formatted(sectors = 64): Promise<{ base: Ramdisk; top: Ramdisk }> {
  const base = new Ramdisk({ sizeSectors: sectors });
  const top = new Ramdisk({ sizeSectors: 0 });
  const ov = await overlay(base, top);
  await ov.write(3, [new Uint8Array(512).fill(9)]);
  await ov.disconnect();
  return { base, top };
}

describe('opening a top', () => {
  it('formats a blank top, growing it to the size overlayTopBytes gives, and reopens it', async () => {
    const base = new Ramdisk({ sizeSectors: 100 });
    const top = new Ramdisk({ sizeSectors: 0 });
    const ov = await overlay(base, top);
    expect((await top.getInfo()).sizeSectors * 512).toBe(overlayTopBytes(100 * 512));
    expect(ov.blockSize).toBe(65536);
    expect(await ov.getInfo()).toEqual({ readWrite: true, sectorSize: 512, sizeSectors: 100 });
    expect(new TextDecoder().decode(await bytesOf(top, 0, 1)).slice(0, 8)).toBe('BLKOVRLY');
    await ov.disconnect();
    const again = await overlay(base, top);
    expect(again.blockSize).toBe(65536);
    await again.disconnect();
  });

  it('refuses a top that holds something else, and leaves it alone', async () => {
    const base = new Ramdisk({ sizeSectors: 64 });
    const top = new Ramdisk({ sizeSectors: 1024 });
    const junk = new Uint8Array(512).fill(0x41);
    await top.write(0, [junk]);
    await expectReason(overlay(base, top), 'NOT_AN_OVERLAY');
    expect(await bytesOf(top, 0, 1)).toEqual(junk);
    expect((await top.getInfo()).sizeSectors).toBe(1024);
  });

  it('refuses a newer format version and a damaged header', async () => {
    const { base, top } = await formatted();
    const head = await bytesOf(top, 0, 8);
    const view = new DataView(head.buffer);
    const newer = head.slice();
    new DataView(newer.buffer).setUint32(8, FORMAT_VERSION + 1, true);
    await top.write(0, [newer]);
    await expectReason(overlay(base, top), 'UNSUPPORTED_VERSION');
    const flipped = head.slice();
    flipped[17]! ^= 1;
    await top.write(0, [flipped]);
    await expectReason(overlay(base, top), 'CORRUPT');
    const lying = head.slice();
    const lyingView = new DataView(lying.buffer);
    lyingView.setUint32(48, view.getUint32(48, true) + 4096, true);
    lyingView.setUint32(60, crc32(lying.subarray(0, 60)), true);
    await top.write(0, [lying]);
    await expectReason(overlay(base, top), 'CORRUPT');
  });

  it('refuses a map entry that names no state', async () => {
    const { base, top } = await formatted();
    const map = await bytesOf(top, 8, 1);
    map[0] = 0b11;
    await top.write(8, [map]);
    await expectReason(overlay(base, top), 'CORRUPT');
  });

  it('refuses a base whose size changed since the top was formatted', async () => {
    const { base, top } = await formatted();
    await base.resize(80);
    await expectReason(overlay(base, top), 'BASE_SIZE_CHANGED');
    await base.resize(64);
    const ov = await overlay(base, top);
    expect((await bytesOf(ov, 3, 1))[0]).toBe(9);
    await ov.disconnect();
  });

  it('refuses another block size or sector size than the top was made with', async () => {
    const { base, top } = await formatted();
    await expectReason(overlay(base, top, { blockSize: 4096 }), 'GEOMETRY_MISMATCH');
    const bigBase = new Ramdisk({ sizeSectors: 8, sectorSize: 4096 });
    const t = new Ramdisk({ sizeSectors: 0 });
    await (await overlay(new Ramdisk({ sizeSectors: 64 }), t)).disconnect();
    await expectReason(overlay(bigBase, t), 'GEOMETRY_MISMATCH');
  });

  it('refuses a top too small to hold the base, when it cannot grow', async () => {
    const name = 'overlay-small-top';
    const small = await connectMem(name, { sizeSectors: 64 });
    destroyMem(name);
    await expectReason(overlay(new Ramdisk({ sizeSectors: 64 }), small), 'TOP_TOO_SMALL');
    const tiny = await connectMem(name, { sizeSectors: 4 });
    destroyMem(name);
    await expectReason(overlay(new Ramdisk({ sizeSectors: 64 }), tiny), 'TOP_TOO_SMALL');
    const { base, top } = await formatted();
    await top.resize(64);
    await expectReason(overlay(base, top), 'TOP_TOO_SMALL');
  });

  it('refuses a blank read-only top, and opens a formatted one read-only', async () => {
    const base = new Ramdisk({ sizeSectors: 64 });
    await expectReason(overlay(base, readOnlyView(new Ramdisk({ sizeSectors: 1024 }))), 'TOP_NOT_FORMATTED', 'READ_ONLY');
    const { top } = await formatted();
    const ov = await overlay(base, readOnlyView(top));
    expect(ov.supports.write).toBe(false);
    expect(typeof ov.flush).toBe('undefined');
    expect((await bytesOf(ov, 3, 1))[0]).toBe(9);
    await expectBlockError(ov.write(0, [new Uint8Array(512)]), 'READ_ONLY');
    await expectBlockError(ov.commit(), 'READ_ONLY');
    await ov.disconnect();
  });

  it('refuses bad arguments before touching anything', async () => {
    const base = new Ramdisk({ sizeSectors: 64 });
    const top = new Ramdisk({ sizeSectors: 0 });
    await expectBlockError(overlay(base, base), 'INVALID_ARGUMENT');
    for (const blockSize of [0, 3000, 256, 2 ** 30, Number.NaN, 1.5])
      await expectBlockError(overlay(base, top, { blockSize }), 'INVALID_ARGUMENT');
    await expectBlockError(overlay(base, top, 'big' as never), 'INVALID_ARGUMENT');
    await expectBlockError(overlay(base, top, { blockSize: '4096' as never }), 'INVALID_ARGUMENT');
    await expectBlockError(overlay(base, top, { disconnectChildren: 1 as never }), 'INVALID_ARGUMENT');
    expect((await top.getInfo()).sizeSectors).toBe(0);
    expect(() => overlayTopBytes(1000)).toThrow(/whole number/);
    expect(overlayTopBytes(64 * 512, { blockSize: 4096 })).toBe(4096 + 4096 + 64 * 512);
  });

  it('leaves the children connected unless asked to disconnect them', async () => {
    const base = new Ramdisk({ sizeSectors: 64 });
    const top = new Ramdisk({ sizeSectors: 0 });
    await (await overlay(base, top)).disconnect();
    await base.getInfo();
    await top.getInfo();
    await (await overlay(base, top, { disconnectChildren: true })).disconnect();
    await expectBlockError(base.getInfo(), 'DISCONNECTED');
    await expectBlockError(top.getInfo(), 'DISCONNECTED');
  });
});
