import { OPTIONAL_METHODS, compare, readOnlyView, supports, type BlockDevice, type BlockInfo } from '@blk/core';
import { expectBlockError, withFaults } from '@blk/conformance';
import { Ramdisk } from '@blk/ramdisk';
import { describe, expect, it } from 'vitest';
import { connect, type MirrorOptions } from '../src/index.js';
import { ramdisk, restrict, scribble } from './helpers/devices.js';

/** A device of any geometry whose I/O must never be reached. */
function untouchable(info: BlockInfo): BlockDevice & { touched: string[] } {
  const touched: string[] = [];
  const refuse = (op: string) => () => {
    touched.push(op);
    return Promise.reject(new Error(`${op} reached`));
  };
  return {
    supports: supports({ write: info.readWrite }),
    getInfo: () => Promise.resolve(info),
    read: refuse('read'),
    write: refuse('write'),
    disconnect: () => Promise.resolve(),
    touched,
  };
}

describe('connect refuses before anything is read or written', () => {
  it.each([
    // Same byte length (12288), but neither sector size is a multiple of the other.
    [1536, 8, 4096, 3, 'INVALID_ARGUMENT'],
    [4096, 3, 3072, 4, 'INVALID_ARGUMENT'],
    // Sector sizes that fit, byte lengths that differ.
    [512, 64, 512, 65, 'INVALID_ARGUMENT'],
    [512, 64, 4096, 9, 'INVALID_ARGUMENT'],
    [4096, 8, 512, 65, 'INVALID_ARGUMENT'],
  ] as const)('primary %i×%i, secondary %i×%i: %s', async (pss, pn, sss, sn, code) => {
    const primary = untouchable({ readWrite: true, sectorSize: pss, sizeSectors: pn });
    const secondary = untouchable({ readWrite: true, sectorSize: sss, sizeSectors: sn });
    await expectBlockError(connect(primary, secondary), code);
    expect([...primary.touched, ...secondary.touched]).toEqual([]);
  });

  it('refuses a read-only secondary with READ_ONLY and leaves both devices untouched', async () => {
    const primary = withFaults(new Ramdisk({ sizeSectors: 64 }), () => false);
    const inner = new Ramdisk({ sizeSectors: 64 });
    await scribble(inner, 3);
    const before = new Uint8Array(64 * 512);
    await inner.read(0, [before]);
    const secondary = withFaults(readOnlyView(inner), () => false);
    await expectBlockError(connect(primary, secondary), 'READ_ONLY');
    expect(primary.counts.read ?? 0).toBe(0);
    expect(primary.counts.write ?? 0).toBe(0);
    expect(secondary.counts.read ?? 0).toBe(0);
    const after = new Uint8Array(64 * 512);
    await inner.read(0, [after]);
    expect(Buffer.compare(before, after)).toBe(0);
  });

  it('refuses the same device as both primary and secondary', async () => {
    const disk = new Ramdisk({ sizeSectors: 64 });
    await expectBlockError(connect(disk, disk), 'INVALID_ARGUMENT');
  });

  it('passes on a child that is already disconnected', async () => {
    const primary = new Ramdisk({ sizeSectors: 64 });
    const secondary = new Ramdisk({ sizeSectors: 64 });
    await secondary.disconnect();
    await expectBlockError(connect(primary, secondary), 'DISCONNECTED');
  });

  it.each<[string, unknown]>([
    ['chunkBytes 0', { chunkBytes: 0 }],
    ['chunkBytes -4096', { chunkBytes: -4096 }],
    ['chunkBytes 1.5', { chunkBytes: 1.5 }],
    ['chunkBytes NaN', { chunkBytes: Number.NaN }],
    ['chunkBytes as a string', { chunkBytes: '4096' }],
    ['concurrency 0', { concurrency: 0 }],
    ['concurrency 2.5', { concurrency: 2.5 }],
    ['concurrency 65', { concurrency: 65 }],
    ['throttle.bytesPerSecond 0', { throttle: { bytesPerSecond: 0 } }],
    ['throttle.bytesPerSecond -1', { throttle: { bytesPerSecond: -1 } }],
    ['throttle.bytesPerSecond Infinity', { throttle: { bytesPerSecond: Number.POSITIVE_INFINITY } }],
    ['throttle null', { throttle: null }],
    ['throttle.sliceMs -1', { throttle: { sliceMs: -1 } }],
    ['throttle.sliceMs NaN', { throttle: { sliceMs: Number.NaN } }],
    ['throttle.adaptive not a boolean', { throttle: { adaptive: 'no' } }],
    ['throttle.idleAfterMs -1', { throttle: { idleAfterMs: -1 } }],
    ['throttle.idleAfterMs Infinity', { throttle: { idleAfterMs: Number.POSITIVE_INFINITY } }],
    ['throttle.busyChunkBytes 0', { throttle: { busyChunkBytes: 0 } }],
    ['throttle.busyChunkBytes 1.5', { throttle: { busyChunkBytes: 1.5 } }],
    ['throttle.busyShare 0', { throttle: { busyShare: 0 } }],
    ['throttle.busyShare 1.5', { throttle: { busyShare: 1.5 } }],
    ['throttle.busyShare NaN', { throttle: { busyShare: Number.NaN } }],
    ['onProgress not a function', { onProgress: 'yes' }],
    ['disconnectChildren not a boolean', { disconnectChildren: 1 }],
    ['options null', null],
  ])('refuses malformed options (%s) with INVALID_ARGUMENT', async (_name, options) => {
    const primary = untouchable({ readWrite: true, sectorSize: 512, sizeSectors: 64 });
    const secondary = untouchable({ readWrite: true, sectorSize: 512, sizeSectors: 64 });
    await expectBlockError(connect(primary, secondary, options as MirrorOptions), 'INVALID_ARGUMENT');
    expect([...primary.touched, ...secondary.touched]).toEqual([]);
  });
});

describe('mirror geometry', () => {
  it.each([
    [512, 512, 512],
    [512, 4096, 4096],
    [4096, 512, 4096],
    [1024, 4096, 4096],
  ])('primary %i-byte and secondary %i-byte sectors give a %i-byte mirror of the same length', async (pss, sss, expected) => {
    const bytes = 64 * 4096;
    const mirror = await connect(ramdisk(bytes, pss), ramdisk(bytes, sss));
    expect(await mirror.getInfo()).toEqual({ readWrite: true, sectorSize: expected, sizeSectors: bytes / expected });
    await mirror.synced;
    await mirror.disconnect();
  });

  it('is read-only when the primary is, and still mirrors it', async () => {
    const inner = new Ramdisk({ sizeSectors: 64 });
    await scribble(inner, 5);
    const secondary = new Ramdisk({ sizeSectors: 64 });
    const mirror = await connect(readOnlyView(inner), secondary);
    expect((await mirror.getInfo()).readWrite).toBe(false);
    await expectBlockError(mirror.write(0, [new Uint8Array(512)]), 'READ_ONLY');
    await mirror.synced;
    expect(await compare(inner, secondary)).toBe(0);
    await mirror.disconnect();
  });
});

describe('supports is derived from the children', () => {
  const flagsOf = async (primary: BlockDevice, secondary: BlockDevice) => {
    const mirror = await connect(primary, secondary);
    await mirror.synced;
    await mirror.disconnect();
    const methods = mirror as unknown as Record<string, unknown>;
    for (const [method, flag] of Object.entries(OPTIONAL_METHODS)) {
      expect(typeof methods[method] === 'function', `${method} present ⇔ ${flag}`).toBe(mirror.supports[flag]);
    }
    expect(Object.isFrozen(mirror.supports)).toBe(true);
    return mirror.supports;
  };
  const disk = () => new Ramdisk({ sizeSectors: 64 });

  it('two ramdisks: everything the primary has except resize and fua', async () => {
    expect(await flagsOf(disk(), disk())).toEqual({
      write: true,
      flush: true,
      fua: false,
      discard: true,
      discardZeroes: true,
      writeZeroes: true,
      resize: false,
      seek: true,
      sparse: true,
      persistent: false,
      concurrent: true,
    });
  });

  it('flush when either child can flush', async () => {
    expect((await flagsOf(restrict(disk(), ['flush']), disk())).flush).toBe(true);
    expect((await flagsOf(disk(), restrict(disk(), ['flush']))).flush).toBe(true);
    expect((await flagsOf(restrict(disk(), ['flush']), restrict(disk(), ['flush']))).flush).toBe(false);
  });

  it('discard, writeZeroes, seek and sparse follow the primary; a plain secondary is enough', async () => {
    const plain = restrict(disk(), ['flush', 'discard', 'writeZeroes', 'seek', 'sparse', 'resize']);
    const onPlain = await flagsOf(disk(), plain);
    expect([onPlain.discard, onPlain.discardZeroes, onPlain.writeZeroes, onPlain.seek, onPlain.sparse]).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    const fromPlain = await flagsOf(restrict(disk(), ['discard', 'writeZeroes', 'seek', 'sparse']), disk());
    expect([fromPlain.discard, fromPlain.writeZeroes, fromPlain.seek, fromPlain.sparse]).toEqual([false, false, false, false]);
  });

  it('writeZeroes through a zeroing discard when the primary has no writeZeroes', async () => {
    const flags = await flagsOf(restrict(disk(), ['writeZeroes']), disk());
    expect([flags.discard, flags.writeZeroes]).toEqual([true, true]);
  });

  it('a read-only primary gives no write, discard or writeZeroes, but keeps seek and flush', async () => {
    const flags = await flagsOf(readOnlyView(disk()), disk());
    expect([flags.write, flags.discard, flags.writeZeroes, flags.seek, flags.flush]).toEqual([false, false, false, true, true]);
  });

  it('concurrent only when both children are', async () => {
    expect((await flagsOf(disk(), restrict(disk(), ['concurrent']))).concurrent).toBe(false);
  });
});
