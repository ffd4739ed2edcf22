import { compare } from '@blk/core';
import { Ramdisk } from '@blk/ramdisk';
import { describe, expect, it } from 'vitest';
import { connect, type Mirror, type MirrorProgress } from '../src/index.js';
import { ramdisk, scribble, settle } from './helpers/devices.js';

function expectWellFormed(events: readonly MirrorProgress[]): void {
  expect(events[0]).toMatchObject({ type: 'percent', percent: 0, bytesCopied: 0, bytesPerSecond: 0 });
  expect(events[0]).not.toHaveProperty('secondsLeft');
  const percentEvents = events.filter((e) => e.type === 'percent');
  const percents = percentEvents.map((e) => e.percent);
  for (let i = 1; i < percents.length; i++) expect(percents[i]).toBeGreaterThan(percents[i - 1]!);
  for (const p of percents) expect(Number.isInteger(p) && p >= 0 && p <= 100).toBe(true);
  for (let i = 0; i < percentEvents.length; i++) {
    const e = percentEvents[i]!;
    expect(e.bytesTotal).toBe(percentEvents[0]!.bytesTotal);
    if (i > 0) expect(e.bytesCopied).toBeGreaterThanOrEqual(percentEvents[i - 1]!.bytesCopied);
    expect(e.percent).toBe(e.bytesCopied >= e.bytesTotal ? 100 : Math.floor((e.bytesCopied / e.bytesTotal) * 100));
    expect(e.bytesPerSecond).toBeGreaterThanOrEqual(0);
    if (e.bytesPerSecond > 0) expect(e.secondsLeft).toBeCloseTo((e.bytesTotal - e.bytesCopied) / e.bytesPerSecond, 6);
    else expect(e).not.toHaveProperty('secondsLeft');
  }
  expect(events.filter((e) => e.type === 'complete')).toHaveLength(1);
  expect(events.at(-1)).toEqual({ type: 'complete' });
  const last = events.at(-2);
  expect(last).toMatchObject({ type: 'percent', percent: 100 });
  if (last?.type === 'percent') {
    expect(last.bytesCopied).toBe(last.bytesTotal);
    if (last.bytesTotal > 0) expect(last.secondsLeft).toBe(0);
  }
}

describe('progress and state', () => {
  it('reports every whole percent change from 0, then exactly one complete, with state synced by then', async () => {
    const primary = ramdisk(1000 * 512, 512);
    await scribble(primary, 1);
    const events: MirrorProgress[] = [];
    const states: string[] = [];
    const seen: { mirror?: Mirror } = {};
    const mirror = await connect(primary, new Ramdisk({ sizeSectors: 1000 }), {
      chunkBytes: 2048,
      onProgress: (e) => {
        events.push(e);
        states.push(seen.mirror?.state ?? 'unknown');
      },
    });
    seen.mirror = mirror;
    expect(mirror.state).toBe('copying');
    await mirror.synced;
    await settle();
    expectWellFormed(events);
    // 1000 sectors in 4-sector windows: every percent from 0 to 100 is reached.
    expect(events.filter((e) => e.type === 'percent')).toHaveLength(101);
    expect(states.at(-1)).toBe('synced');
    expect(states.slice(0, -2).every((s) => s === 'copying')).toBe(true);
    expect(mirror.state).toBe('synced');
    await mirror.disconnect();
  });

  it('sends the first event only after connect has returned the mirror', async () => {
    const seen: { mirror?: Mirror } = {};
    let sawMirror = false;
    const mirror = await connect(new Ramdisk({ sizeSectors: 64 }), new Ramdisk({ sizeSectors: 64 }), {
      onProgress: () => {
        sawMirror ||= seen.mirror !== undefined;
      },
    });
    seen.mirror = mirror;
    await mirror.synced;
    expect(sawMirror).toBe(true);
    await mirror.disconnect();
  });

  it('goes 0, 100, complete on a device of zero length', async () => {
    const events: MirrorProgress[] = [];
    const mirror = await connect(new Ramdisk({ sizeSectors: 0 }), new Ramdisk({ sizeSectors: 0 }), { onProgress: (e) => events.push(e) });
    await mirror.synced;
    expect(events).toEqual([
      { type: 'percent', percent: 0, bytesCopied: 0, bytesTotal: 0, bytesPerSecond: 0 },
      { type: 'percent', percent: 100, bytesCopied: 0, bytesTotal: 0, bytesPerSecond: 0 },
      { type: 'complete' },
    ]);
    await mirror.disconnect();
  });

  it('is monotonic with concurrent windows finishing out of order', async () => {
    const primary = ramdisk(512 * 4096, 4096);
    await scribble(primary, 2);
    const events: MirrorProgress[] = [];
    const mirror = await connect(primary, ramdisk(512 * 4096, 512), {
      chunkBytes: 3 * 4096,
      concurrency: 8,
      onProgress: (e) => events.push(e),
    });
    const writes = Array.from({ length: 64 }, (_, i) => mirror.write((i * 37) % 512, [new Uint8Array(4096).fill(i + 1)]));
    await Promise.all([mirror.synced, ...writes]);
    expectWellFormed(events);
    await mirror.disconnect();
  });

  it('keeps mirroring when the progress listener throws', async () => {
    const primary = ramdisk(256 * 512, 512);
    await scribble(primary, 3);
    const secondary = ramdisk(256 * 512, 512);
    let calls = 0;
    const mirror = await connect(primary, secondary, {
      chunkBytes: 4096,
      onProgress: () => {
        calls++;
        throw new Error('listener bug');
      },
    });
    await mirror.synced;
    expect(calls).toBeGreaterThan(2);
    expect(mirror.state).toBe('synced');
    expect(await compare(primary, secondary)).toBe(0);
    await mirror.disconnect();
  });
});
