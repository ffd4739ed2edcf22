import { compare, type BlockDevice } from '@blk/core';
import { pattern, readSectors, withGate, type DeviceOperation } from '@blk/conformance';
import { describe, expect, it } from 'vitest';
import { connect } from '../src/index.js';
import { ramdisk, recording, scribble, settle } from './helpers/devices.js';

const SS = 512;
const CHUNK_SECTORS = 32;
/** 1001 sectors: the last window is 9 sectors, not a whole chunk. */
const SIZE = 1001;
const LAST_WINDOW = Math.floor(SIZE / CHUNK_SECTORS) * CHUNK_SECTORS;

/** Holds the first call `op` at `sector` (the copy's, since it comes first), and only that one. */
function firstAt(op: DeviceOperation, sector: number): (op: DeviceOperation, args: readonly unknown[]) => boolean {
  let taken = false;
  return (o, args) => {
    if (taken || o !== op || args[0] !== sector) return false;
    taken = true;
    return true;
  };
}

function tracked(promise: Promise<void>): { promise: Promise<void>; settled: () => boolean } {
  let done = false;
  const p = promise.finally(() => {
    done = true;
  });
  return { promise: p, settled: () => done };
}

async function freshPair(): Promise<{ primary: BlockDevice; secondary: BlockDevice }> {
  const primary = ramdisk(SIZE * SS, SS);
  await scribble(primary, 1);
  const secondary = ramdisk(SIZE * SS, SS);
  await scribble(secondary, 2);
  return { primary, secondary };
}

describe('a client write never loses to the copy window it overlaps', () => {
  const cases: [string, number, number, number][] = [
    // [name, window start, write start relative to the window, sectors]
    ['on the first sector while the first window is in flight', 0, 0, 3],
    ['ending exactly at a window start', 64, -3, 3],
    ['beginning before a window and running into it (Mirage lost this one)', 64, -2, 4],
    ['falling exactly on the window', 64, 0, CHUNK_SECTORS],
    ['inside the window', 64, 10, 5],
    ['starting in the window and running past its end', 64, CHUNK_SECTORS - 1, 4],
    ['covering the window and both neighbours', 64, -5, CHUNK_SECTORS + 10],
    ['on the last sector while the clamped last window is in flight', LAST_WINDOW, SIZE - 1 - LAST_WINDOW, 1],
    ['straddling into the last window', LAST_WINDOW, -1, SIZE - LAST_WINDOW + 1],
  ];

  for (const [name, window, delta, count] of cases) {
    it(`write ${name}`, async () => {
      const { primary, secondary } = await freshPair();
      const gate = withGate(secondary, firstAt('write', window));
      const held = gate.device;
      const mirror = await connect(primary, held, { chunkBytes: CHUNK_SECTORS * SS, concurrency: 1 });
      await gate.reached();
      // The copy has read the window's old primary data and waits to write it to the secondary.
      const at = window + delta;
      const data = pattern(at, count, SS, 1234);
      const write = tracked(mirror.write(at, [data]));
      await settle();
      const overlaps = at < window + CHUNK_SECTORS && window < at + count;
      expect(write.settled(), 'an overlapping write waits for the window').toBe(!overlaps);
      gate.open();
      await write.promise;
      await mirror.synced;
      expect(Buffer.compare(await readSectors(secondary, await secondary.getInfo(), at, count), data)).toBe(0);
      expect(await compare(primary, secondary)).toBe(0);
      await mirror.disconnect();
    });
  }

  it('lets writes elsewhere through while a window is held', async () => {
    const { primary, secondary } = await freshPair();
    const gate = withGate(secondary, firstAt('write', 64));
    const mirror = await connect(primary, gate.device, { chunkBytes: CHUNK_SECTORS * SS, concurrency: 1 });
    await gate.reached();
    await mirror.write(500, [pattern(500, 4, SS, 5)]);
    await mirror.write(0, [pattern(0, 4, SS, 6)]);
    gate.open();
    await mirror.synced;
    expect(await compare(primary, secondary)).toBe(0);
    await mirror.disconnect();
  });

  it('makes the copy wait for a client write already in flight over its window', async () => {
    const { primary, secondary } = await freshPair();
    const rec = recording(primary, SS);
    // Hold the client's write on the primary (the only write of 7 sectors) before the copy starts.
    const gate = withGate(rec.device, (op, args) => op === 'write' && (args[1] as Uint8Array[])[0]?.byteLength === 7 * SS);
    const mirror = await connect(gate.device, secondary, { chunkBytes: CHUNK_SECTORS * SS, concurrency: 2 });
    const write = mirror.write(100, [pattern(100, 7, SS, 9)]);
    await gate.reached();
    await settle(50);
    const overlapping = rec.calls.filter((c) => c.op === 'read' && c.start < 107 * SS && 100 * SS < c.end);
    expect(overlapping, 'no copy read of the range while the client write is in flight').toEqual([]);
    expect(mirror.state).toBe('copying');
    gate.open();
    await write;
    await mirror.synced;
    expect(await compare(primary, secondary)).toBe(0);
    await mirror.disconnect();
  });

  it('puts overlapping client writes on both children in the same order', async () => {
    const { primary, secondary } = await freshPair();
    const gate = withGate(secondary, (op, args) => op === 'write' && args[0] === 200);
    const mirror = await connect(primary, gate.device, {
      chunkBytes: CHUNK_SECTORS * SS,
    });
    await mirror.synced;
    const first = mirror.write(200, [pattern(200, 8, SS, 1)]);
    await gate.reached();
    // The first write is on the primary, its secondary half is held; the second overlaps it.
    const second = tracked(mirror.write(204, [pattern(204, 8, SS, 2)]));
    await settle();
    expect(second.settled()).toBe(false);
    gate.open();
    await Promise.all([first, second.promise]);
    expect(await compare(primary, secondary)).toBe(0);
    const expected = pattern(200, 12, SS, 1);
    expected.set(pattern(204, 8, SS, 2), 4 * SS);
    expect(Buffer.compare(await readSectors(mirror, await mirror.getInfo(), 200, 12), expected)).toBe(0);
    await mirror.disconnect();
  });

  it('re-checks a hole under the lock: a write into a planned hole is copied, not zeroed away', async () => {
    const primary = ramdisk(SIZE * SS, SS);
    await primary.write(0, [pattern(0, 8, SS, 3)]);
    const secondary = ramdisk(SIZE * SS, SS);
    await scribble(secondary, 4);
    // Hold the planner's answer "no data from sector 8 on" until a client has written there.
    let planned = false;
    const gate = withGate(
      primary,
      (op, args) => {
        if (planned || op !== 'seekMapped' || (args[0] as number) < 8) return false;
        planned = true;
        return true;
      },
      { after: true },
    );
    const held = gate.device;
    const mirror = await connect(held, secondary, { chunkBytes: CHUNK_SECTORS * SS, concurrency: 1 });
    await gate.reached();
    await mirror.write(600, [pattern(600, 3, SS, 5)]);
    gate.open();
    await mirror.synced;
    expect(await compare(primary, secondary)).toBe(0);
    await mirror.disconnect();
  });
});
