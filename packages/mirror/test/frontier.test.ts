import { compare } from '@blk/core';
import { pattern, readSectors, withGate } from '@blk/conformance';
import { describe, expect, it } from 'vitest';
import { connect } from '../src/index.js';
import { ramdisk, recording, scribble } from './helpers/devices.js';

const SS = 512;
const CHUNK_SECTORS = 32;
const SIZE = 1000;

async function freshPair() {
  const primary = ramdisk(SIZE * SS, SS);
  await scribble(primary, 1);
  const secondary = ramdisk(SIZE * SS, SS);
  await scribble(secondary, 2);
  return { primary, secondary };
}

/** Client writes to the secondary that cover sector `at` (the copy's writes are whole windows). */
const clientWritesAt = (calls: readonly { op: string; start: number; end: number }[], at: number, sectors: number) =>
  calls.filter((c) => c.op === 'write' && c.start === at * SS && c.end === (at + sectors) * SS);

describe('changes past the copy frontier go to the primary only', () => {
  it('a write the copy has not planned yet skips the secondary, and the copy brings it over later', async () => {
    const { primary, secondary } = await freshPair();
    const rec = recording(secondary, SS);
    // Hold the copy's first window on its way to the secondary: the frontier stays at one window.
    const gate = withGate(rec.device, (op, args) => op === 'write' && args[0] === 0);
    const mirror = await connect(primary, gate.device, { chunkBytes: CHUNK_SECTORS * SS, concurrency: 1 });
    await gate.reached();
    const ahead = pattern(500, 3, SS, 7);
    await mirror.write(500, [ahead]);
    expect(clientWritesAt(rec.calls, 500, 3)).toEqual([]);
    gate.open();
    await mirror.synced;
    expect(Buffer.compare(await readSectors(secondary, await secondary.getInfo(), 500, 3), ahead)).toBe(0);
    expect(await compare(primary, secondary)).toBe(0);
    await mirror.disconnect();
  });

  it('a write behind the frontier, or straddling it, goes to both children', async () => {
    const { primary, secondary } = await freshPair();
    const rec = recording(secondary, SS);
    // The second window (sectors 32–63) is held: the frontier is at sector 64.
    const gate = withGate(rec.device, (op, args) => op === 'write' && args[0] === CHUNK_SECTORS);
    const mirror = await connect(primary, gate.device, { chunkBytes: CHUNK_SECTORS * SS, concurrency: 1 });
    await gate.reached();
    await mirror.write(3, [pattern(3, 4, SS, 8)]);
    const straddling = mirror.write(60, [pattern(60, 8, SS, 9)]);
    gate.open();
    await straddling;
    expect(clientWritesAt(rec.calls, 3, 4)).toHaveLength(1);
    expect(clientWritesAt(rec.calls, 60, 8)).toHaveLength(1);
    await mirror.synced;
    expect(await compare(primary, secondary)).toBe(0);
    await mirror.disconnect();
  });

  it('a write exactly at the frontier while the next window is being planned is copied, not lost', async () => {
    const frontier = 2 * CHUNK_SECTORS;
    const primary = ramdisk(SIZE * SS, SS);
    // Data up to the frontier, a hole after it: the planner seeks again at the frontier.
    await primary.write(0, [pattern(0, frontier, SS, 3)]);
    const secondary = ramdisk(SIZE * SS, SS);
    await scribble(secondary, 4);
    const rec = recording(secondary, SS);
    // Hold the planner's answer "no data at the frontier" until a client has written there.
    const gate = withGate(primary, (op, args) => op === 'seekUnmapped' && args[0] === frontier, { after: true });
    const mirror = await connect(gate.device, rec.device, { chunkBytes: CHUNK_SECTORS * SS, concurrency: 1 });
    await gate.reached();
    const data = pattern(frontier, 5, SS, 11);
    await mirror.write(frontier, [data]);
    expect(clientWritesAt(rec.calls, frontier, 5)).toEqual([]);
    gate.open();
    await mirror.synced;
    expect(Buffer.compare(await readSectors(secondary, await secondary.getInfo(), frontier, 5), data)).toBe(0);
    expect(await compare(primary, secondary)).toBe(0);
    await mirror.disconnect();
  });

  it('once synced, every write goes to both children', async () => {
    const { primary, secondary } = await freshPair();
    const rec = recording(secondary, SS);
    const mirror = await connect(primary, rec.device, { chunkBytes: CHUNK_SECTORS * SS });
    await mirror.synced;
    await mirror.write(SIZE - 4, [pattern(SIZE - 4, 4, SS, 12)]);
    expect(clientWritesAt(rec.calls, SIZE - 4, 4)).toHaveLength(1);
    expect(await compare(primary, secondary)).toBe(0);
    await mirror.disconnect();
  });
});
