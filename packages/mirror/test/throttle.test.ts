import { compare } from '@blk/core';
import { pattern } from '@blk/conformance';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { connect } from '../src/index.js';
import { ramdisk, recording, scribble } from './helpers/devices.js';

const SS = 512;

describe('throttling', () => {
  it('never copies faster than bytesPerSecond (after the first windows)', async () => {
    const bytes = 1024 * SS;
    const primary = ramdisk(bytes, SS);
    await scribble(primary, 1);
    const rec = recording(primary, SS);
    const chunk = 4096;
    const concurrency = 2;
    const rate = 64 * 1024;
    const started = performance.now();
    const mirror = await connect(rec.device, ramdisk(bytes, SS), { chunkBytes: chunk, concurrency, throttle: { bytesPerSecond: rate } });
    await sleep(150);
    const elapsed = (performance.now() - started) / 1000;
    const copied = rec.calls.filter((c) => c.op === 'read').reduce((n, c) => n + c.end - c.start, 0);
    // Each worker may take one window before waiting; after that the average rate holds.
    expect(copied).toBeLessThanOrEqual(concurrency * chunk + rate * elapsed);
    expect(copied).toBeGreaterThan(0);
    expect(mirror.state).toBe('copying');
    await mirror.disconnect();
  });

  it('while a client is busy, yields to the event loop before every window, so client requests run during the copy', async () => {
    const bytes = 4 << 20;
    const primary = ramdisk(bytes, SS);
    await scribble(primary, 2);
    const secondary = ramdisk(bytes, SS);
    const mirror = await connect(primary, secondary, { chunkBytes: 64 * 1024, concurrency: 1 });
    const statesSeen: string[] = [];
    for (let i = 0; i < 10; i++) {
      // The first write comes before the copy's first window: the client is busy from the start.
      if (i > 0) await new Promise((resolve) => setImmediate(resolve));
      await mirror.write(i * 16, [pattern(i * 16, 1, SS, i)]);
      statesSeen.push(mirror.state);
    }
    // With a busy client, 64 windows take at least 64 turns of the event loop; ten client writes fit in between.
    expect(statesSeen.every((s) => s === 'copying')).toBe(true);
    await mirror.synced;
    expect(await compare(primary, secondary)).toBe(0);
    await mirror.disconnect();
  });

  it('with a time slice the copy still mirrors exactly while clients write', async () => {
    const bytes = 4 << 20;
    const primary = ramdisk(bytes, SS);
    await scribble(primary, 3);
    const secondary = ramdisk(bytes, SS);
    const mirror = await connect(primary, secondary, { chunkBytes: 64 * 1024, throttle: { sliceMs: 2 } });
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 10; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      writes.push(mirror.write(i * 64, [pattern(i * 64, 8, SS, i)]));
    }
    await Promise.all([mirror.synced, ...writes]);
    expect(await compare(primary, secondary)).toBe(0);
    await mirror.disconnect();
  });
});
