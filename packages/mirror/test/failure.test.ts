import { compare, isBlockError, supports, type BlockDevice } from '@blk/core';
import { expectBlockError, isZero, pattern, readSectors, withFaults, wrapDevice } from '@blk/conformance';
import { rejection } from '@blk/test-kit';
import { describe, expect, it, vi } from 'vitest';
import { connect, type MirrorProgress } from '../src/index.js';
import { contents, ramdisk, restrict, scribble, settle } from './helpers/devices.js';

const SS = 512;
const SIZE = 400;

async function dense(seed: number): Promise<BlockDevice> {
  const disk = ramdisk(SIZE * SS, SS);
  await scribble(disk, seed);
  return disk;
}

describe('a failing secondary fails the mirror, loudly, and the primary keeps serving', () => {
  it('a write error mid-copy: state failed, one failed event, synced rejects, no complete', async () => {
    const primary = await dense(1);
    const secondary = withFaults(ramdisk(SIZE * SS, SS), (c) => c.op === 'write' && c.index === 3);
    const events: MirrorProgress[] = [];
    const mirror = await connect(primary, secondary, { chunkBytes: 16 * SS, concurrency: 1, onProgress: (e) => events.push(e) });
    const error = await rejection(mirror.synced);
    expect(isBlockError(error, 'IO')).toBe(true);
    expect(error.message).toMatch(/secondary/);
    expect(error.cause).toBeInstanceOf(Error);
    expect(mirror.state).toBe('failed');
    expect(mirror.error).toBe(error);
    await settle();
    const failed = events.filter((e) => e.type === 'failed');
    expect(failed).toEqual([{ type: 'failed', error }]);
    expect(events.some((e) => e.type === 'complete')).toBe(false);
    expect(events.at(-1)).toEqual({ type: 'failed', error });
    const percents = events.filter((e) => e.type === 'percent').map((e) => e.percent);
    expect(percents[0]).toBe(0);
    expect(percents.at(-1)).toBeLessThan(100);

    // The primary keeps serving reads and writes; the secondary is left alone from now on.
    const writesSoFar = secondary.counts.write;
    const data = pattern(7, 3, SS, 42);
    await mirror.write(7, [data]);
    expect(Buffer.compare(await readSectors(mirror, await mirror.getInfo(), 7, 3), data)).toBe(0);
    expect(Buffer.compare(await readSectors(primary, await primary.getInfo(), 7, 3), data)).toBe(0);
    await mirror.writeZeroes!(20, 4);
    await mirror.discard!(30, 4);
    await mirror.flush!();
    expect(secondary.counts.write).toBe(writesSoFar);
    expect(secondary.counts.writeZeroes ?? 0).toBe(0);
    await mirror.disconnect();
  });

  it('a client write whose secondary half fails during the copy resolves, and the mirror fails', async () => {
    const primary = await dense(2);
    const secondary = withFaults(ramdisk(SIZE * SS, SS), (c) => c.op === 'write' && (c.args[1] as Uint8Array[])[0]?.byteLength === 3 * SS);
    const mirror = await connect(primary, secondary, { chunkBytes: 8 * SS, throttle: { bytesPerSecond: 64 * SS } });
    // Behind the copy's frontier (its first window is on the secondary), so both halves run.
    await vi.waitFor(() => expect(secondary.counts.write).toBeGreaterThan(0));
    const data = pattern(1, 3, SS, 7);
    await mirror.write(1, [data]);
    expect(mirror.state).toBe('failed');
    expect(Buffer.compare(await readSectors(mirror, await mirror.getInfo(), 1, 3), data)).toBe(0);
    await expectBlockError(mirror.synced, 'IO');
    await mirror.disconnect();
  });

  it('after sync, a failing secondary write resolves the client write and reports failed after complete', async () => {
    const primary = await dense(3);
    let broken = false;
    const secondary = withFaults(ramdisk(SIZE * SS, SS), (c) => broken && c.op === 'write');
    const events: MirrorProgress[] = [];
    const mirror = await connect(primary, secondary, { onProgress: (e) => events.push(e) });
    await mirror.synced;
    broken = true;
    await mirror.write(0, [pattern(0, 1, SS, 5)]);
    expect(mirror.state).toBe('failed');
    expect(isBlockError(mirror.error, 'IO')).toBe(true);
    expect(events.slice(-2).map((e) => e.type)).toEqual(['complete', 'failed']);
    await mirror.synced; // it did sync once; that stays true
    await mirror.disconnect();
  });

  it('a failing secondary flush resolves the flush and fails the mirror', async () => {
    const secondary = withFaults(ramdisk(SIZE * SS, SS), (c) => c.op === 'flush');
    const mirror = await connect(await dense(4), secondary);
    await mirror.synced;
    await mirror.flush!();
    expect(mirror.state).toBe('failed');
    await mirror.disconnect();
  });

  it('a failing zeroing of a hole on the secondary fails the mirror', async () => {
    const primary = ramdisk(SIZE * SS, SS);
    await primary.write(0, [pattern(0, 8, SS)]);
    const inner = await dense(5);
    const secondary = withFaults(inner, (c) => c.op === 'writeZeroes');
    const mirror = await connect(primary, secondary);
    await expectBlockError(mirror.synced, 'IO');
    expect(mirror.state).toBe('failed');
    await mirror.disconnect();
  });
});

describe('a failing primary', () => {
  it('rejects the client write, and the range is copied again so the secondary does not diverge', async () => {
    const primary = withFaults(await dense(6), (c) => c.op === 'write' && c.index === 0);
    const secondary = ramdisk(SIZE * SS, SS);
    const mirror = await connect(primary, secondary, { chunkBytes: 8 * SS });
    await mirror.synced;
    // The injected fault stops the primary half; the secondary half of the same write lands.
    await expectBlockError(mirror.write(10, [pattern(10, 4, SS, 99)]), 'IO');
    expect(mirror.state).toBe('synced');
    expect(await compare(primary, secondary)).toBe(0);
    const later = pattern(10, 4, SS, 100);
    await mirror.write(10, [later]);
    expect(await compare(primary, secondary)).toBe(0);
    await mirror.disconnect();
  });

  it('a primary read error during the copy fails the mirror and names the primary', async () => {
    const primary = withFaults(await dense(7), (c) => c.op === 'read' && c.index === 2);
    const mirror = await connect(primary, ramdisk(SIZE * SS, SS), { chunkBytes: 16 * SS, concurrency: 1 });
    const error = await rejection(mirror.synced);
    expect(isBlockError(error, 'IO')).toBe(true);
    expect(error.message).toMatch(/primary/);
    expect(mirror.state).toBe('failed');
    // Later reads that the primary serves still work.
    await mirror.read(0, [new Uint8Array(SS)]);
    await mirror.disconnect();
  });

  it('a primary flush error rejects the flush without failing the mirror', async () => {
    const primary = withFaults(await dense(8), (c) => c.op === 'flush');
    const mirror = await connect(primary, ramdisk(SIZE * SS, SS));
    await mirror.synced;
    await expectBlockError(mirror.flush!(), 'IO');
    expect(mirror.state).toBe('synced');
    await mirror.disconnect();
  });

  it('turns a foreign error from the primary into a BlockError IO with the original as cause', async () => {
    const inner = await dense(9);
    const oops = new TypeError('driver bug');
    const primary = wrapDevice(inner, (op, _args, call) => (op === 'read' ? Promise.reject(oops) : call()));
    const mirror = await connect(restrict(primary, ['seek', 'sparse']), ramdisk(SIZE * SS, SS));
    const error = await rejection(mirror.read(0, [new Uint8Array(SS)]));
    expect(isBlockError(error, 'IO')).toBe(true);
    expect(error.cause).toBe(oops);
    await expectBlockError(mirror.synced, 'IO');
    await mirror.disconnect();
  });

  it('a primary that throws a value whose String() throws: the write and flush reject with a BlockError, the mirror keeps in step', async () => {
    const hostile = { toString: [] };
    let armed = false;
    const primary = wrapDevice(await dense(10), (op, _args, call) => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      if (armed && (op === 'write' || op === 'flush')) throw hostile;
      return call();
    });
    const secondary = ramdisk(SIZE * SS, SS);
    const mirror = await connect(primary, secondary, { chunkBytes: 8 * SS });
    await mirror.synced;
    armed = true;
    const written = await rejection(mirror.write(10, [pattern(10, 4, SS, 99)]));
    expect(isBlockError(written, 'IO')).toBe(true);
    expect(written.cause).toBe(hostile);
    const flushed = await rejection(mirror.flush!());
    expect(isBlockError(flushed, 'IO')).toBe(true);
    expect(mirror.state).toBe('synced');
    armed = false;
    expect(await compare(primary, secondary)).toBe(0);
    await mirror.disconnect();
  });
});

describe('discard and writeZeroes reach both children', () => {
  it('writeZeroes zeroes both', async () => {
    const primary = await dense(10);
    const secondary = ramdisk(SIZE * SS, SS);
    const mirror = await connect(primary, secondary);
    await mirror.synced;
    await mirror.writeZeroes!(100, 50);
    expect(isZero((await contents(secondary)).subarray(100 * SS, 150 * SS))).toBe(true);
    expect(await compare(primary, secondary)).toBe(0);
    await mirror.disconnect();
  });

  it('writeZeroes through the zeroing discard of a primary without writeZeroes, and zero writes on a plain secondary', async () => {
    const primary = await dense(12);
    const inner = await dense(13);
    const secondary = restrict(inner, ['discard', 'writeZeroes', 'seek', 'sparse']);
    const mirror = await connect(restrict(primary, ['writeZeroes']), secondary);
    await mirror.synced;
    await mirror.writeZeroes!(SIZE - 7, 7);
    await mirror.discard!(0, 5);
    const bytes = await contents(inner);
    expect(isZero(bytes.subarray((SIZE - 7) * SS))).toBe(true);
    expect(isZero(bytes.subarray(0, 5 * SS))).toBe(true);
    expect(await compare(primary, inner)).toBe(0);
    await mirror.disconnect();
  });

  it('a discard that does not promise zeroes leaves the secondary with whatever the primary reads', async () => {
    const inner = await dense(11);
    // A primary whose discard leaves garbage behind (a legal discard without discardZeroes).
    const primary: BlockDevice = {
      supports: supports({ ...inner.supports, discardZeroes: false }),
      getInfo: () => inner.getInfo(),
      read: (s, b) => inner.read(s, b),
      write: (s, b) => inner.write(s, b),
      disconnect: () => inner.disconnect(),
      discard: (s, n) => inner.write(s, [new Uint8Array(n * SS).fill(0x5c)]),
    };
    const secondary = ramdisk(SIZE * SS, SS);
    const mirror = await connect(primary, secondary);
    await mirror.synced;
    expect(mirror.supports.discardZeroes).toBe(false);
    await mirror.discard!(3, 9);
    expect(await compare(inner, secondary)).toBe(0);
    await mirror.disconnect();
  });
});
