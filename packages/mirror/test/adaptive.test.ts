import { compare, nextTurn, type BlockDevice } from '@blk/core';
import { pattern, wrapDevice } from '@blk/conformance';
import { describe, expect, it } from 'vitest';
import { connect, type MirrorOptions } from '../src/index.js';
import { ramdisk, scribble } from './helpers/devices.js';

const SS = 512;
const BYTES = 2 << 20;
const CLIENT_BYTES = 4096;

/**
 * A secondary whose writes each take a turn of the event loop, recording how many background
 * copy writes (any write that is not a client's 4 KiB) were in flight at once and how big they were.
 */
function watchedSecondary(counting: () => boolean): { device: BlockDevice; maxCopiesInFlight: () => number; copySizes: Set<number> } {
  let inFlight = 0;
  let max = 0;
  const copySizes = new Set<number>();
  const device = wrapDevice(ramdisk(BYTES, SS), async (op, args, call) => {
    const bytes = op === 'write' ? (args[1] as Uint8Array[]).reduce((n, b) => n + b.byteLength, 0) : 0;
    const copy = op === 'write' && bytes !== CLIENT_BYTES;
    if (copy) {
      if (counting()) copySizes.add(bytes);
      inFlight++;
      if (counting()) max = Math.max(max, inFlight);
    }
    try {
      await nextTurn();
      return await call();
    } finally {
      if (copy) inFlight--;
    }
  });
  return { device, maxCopiesInFlight: () => max, copySizes };
}

/**
 * Writes 4 KiB, one at a time and each on a fresh turn (as requests from a socket arrive), from
 * before the copy starts until the mirror is synced. A write past the copy's frontier reaches only
 * the ramdisk primary and settles without a turn, so the turn is what lets the copy run at all.
 */
async function busyClient(mirror: BlockDevice & { state: string }, client: { active: boolean }): Promise<number> {
  let writes = 0;
  while (mirror.state === 'copying' && writes < 10_000) {
    const sector = (writes * 97 * 8) % (BYTES / SS - 8);
    await mirror.write(sector, [pattern(sector, 8, SS, writes + 1)]);
    writes++;
    await nextTurn();
  }
  // Past the bound (a slow copy, in a browser say) the copy is rightly idle again: not counted.
  client.active = false;
  return writes;
}

async function mirrorWith(options: MirrorOptions, withClient: boolean) {
  const primary = ramdisk(BYTES, SS);
  await scribble(primary, 5);
  // With a client, only the copies made while it is busy are watched.
  const client = { active: withClient };
  const secondary = watchedSecondary(() => !withClient || client.active);
  const mirror = await connect(primary, secondary.device, { chunkBytes: 64 * 1024, concurrency: 4, ...options });
  // The client's first write is issued before the copy's first chunk (which starts on a later turn).
  const clientDone = withClient ? busyClient(mirror, client) : Promise.resolve(0);
  await mirror.synced;
  const writes = await clientDone;
  expect(await compare(primary, secondary.device)).toBe(0);
  await mirror.disconnect();
  return { ...secondary, writes };
}

describe('the copy adapts to the clients', () => {
  it('while a client is busy, keeps at most one chunk of busyChunkBytes in flight', async () => {
    const seen = await mirrorWith({ throttle: { busyChunkBytes: 16 * 1024 } }, true);
    expect(seen.writes).toBeGreaterThan(0);
    expect(seen.maxCopiesInFlight()).toBe(1);
    expect(Math.max(...seen.copySizes)).toBeLessThanOrEqual(16 * 1024);
  });

  it('with no client, runs concurrency chunks of chunkBytes at once', async () => {
    const seen = await mirrorWith({ throttle: { busyChunkBytes: 16 * 1024 } }, false);
    expect(seen.maxCopiesInFlight()).toBe(4);
    expect([...seen.copySizes]).toEqual([64 * 1024]);
  });

  it('with adaptive: false, ignores the clients', async () => {
    const seen = await mirrorWith({ throttle: { adaptive: false, busyChunkBytes: 16 * 1024 } }, true);
    expect(seen.maxCopiesInFlight()).toBe(4);
    expect([...seen.copySizes]).toEqual([64 * 1024]);
  });

  it('with busyShare 1 and a busy client, still one chunk at a time and the mirror syncs exactly', async () => {
    const seen = await mirrorWith({ throttle: { busyShare: 1, busyChunkBytes: 8 * 1024 } }, true);
    expect(seen.maxCopiesInFlight()).toBe(1);
    expect(Math.max(...seen.copySizes)).toBeLessThanOrEqual(8 * 1024);
  });

  it('while clients are busy, a client write issued during a chunk completes before that chunk goes on to the secondary', async () => {
    const CHUNK = 16 * 1024;
    const order: string[] = [];
    let client: Promise<void> | undefined;
    // The primary's wrapper needs the mirror that is made from it.
    const made: { mirror?: Awaited<ReturnType<typeof connect>> } = {};
    const base = ramdisk(BYTES, SS);
    await scribble(base, 6);
    const primary = wrapDevice(base, (op, args, call) => {
      const bytes = op === 'read' ? (args[1] as Uint8Array[])[0]!.byteLength : 0;
      // The copy's first busy read: a client write arrives now (far ahead of the copy).
      if (bytes === CHUNK && !client) {
        const at = BYTES / SS - 8;
        client = made.mirror!.write(at, [pattern(at, 8, SS, 9)]).then(() => void order.push('client write done'));
      }
      return call();
    });
    const secondary = wrapDevice(ramdisk(BYTES, SS), (op, args, call) => {
      if (op === 'write' && (args[1] as Uint8Array[])[0]!.byteLength === CHUNK) order.push('copy write');
      return call();
    });
    const mirror = (made.mirror = await connect(primary, secondary, {
      chunkBytes: 64 * 1024,
      throttle: { busyChunkBytes: CHUNK, idleAfterMs: 60_000 },
    }));
    // A client write before the copy's first chunk: the copy starts in busy mode.
    await mirror.write(0, [pattern(0, 8, SS, 8)]);
    await mirror.synced;
    await client;
    expect(order.slice(0, 2)).toEqual(['client write done', 'copy write']);
    expect(await compare(base, secondary)).toBe(0);
    await mirror.disconnect();
  });
});
