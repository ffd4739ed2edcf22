import { compare } from '@blk/core';
import { expectBlockError, pattern, withFaults, withGate } from '@blk/conformance';
import { describe, expect, it } from 'vitest';
import { connect, type Mirror, type MirrorProgress } from '../src/index.js';
import { ramdisk, scribble, settle } from './helpers/devices.js';

const SS = 512;
const SIZE = 512;

async function denseDisk(seed: number) {
  const disk = ramdisk(SIZE * SS, SS);
  await scribble(disk, seed);
  return disk;
}

async function everyCallRejectsDisconnected(mirror: Mirror): Promise<void> {
  const one = new Uint8Array(SS);
  await expectBlockError(mirror.getInfo(), 'DISCONNECTED');
  await expectBlockError(mirror.read(0, [one]), 'DISCONNECTED');
  await expectBlockError(mirror.write(0, [one]), 'DISCONNECTED');
  await expectBlockError(mirror.flush!(), 'DISCONNECTED');
  await expectBlockError(mirror.discard!(0, 1), 'DISCONNECTED');
  await expectBlockError(mirror.writeZeroes!(0, 1), 'DISCONNECTED');
  await expectBlockError(mirror.seekMapped!(0), 'DISCONNECTED');
  await expectBlockError(mirror.seekUnmapped!(0), 'DISCONNECTED');
}

describe('disconnect', () => {
  it('stops the copy, waits for the window in flight, and rejects synced with DISCONNECTED', async () => {
    const primary = await denseDisk(1);
    const inner = withFaults(ramdisk(SIZE * SS, SS), () => false);
    const gate = withGate(inner, (op, args) => op === 'write' && args[0] === 64);
    const secondary = gate.device;
    const events: MirrorProgress[] = [];
    const mirror = await connect(primary, secondary, { chunkBytes: 32 * SS, concurrency: 1, onProgress: (e) => events.push(e) });
    await gate.reached();
    let disconnected = false;
    const done = mirror.disconnect().then(() => {
      disconnected = true;
    });
    await settle();
    expect(disconnected, 'disconnect waits for the window in flight').toBe(false);
    await everyCallRejectsDisconnected(mirror);
    gate.open();
    await done;
    const writes = inner.counts.write;
    expect(writes).toBe(3);
    await settle(30);
    expect(inner.counts.write, 'no copy after disconnect').toBe(writes);
    await expectBlockError(mirror.synced, 'DISCONNECTED');
    expect(mirror.state).toBe('failed');
    expect(events.filter((e) => e.type === 'failed')).toHaveLength(1);
    expect(events.some((e) => e.type === 'complete')).toBe(false);
  });

  it('leaves the children connected by default', async () => {
    const primary = await denseDisk(2);
    const secondary = ramdisk(SIZE * SS, SS);
    const mirror = await connect(primary, secondary);
    await mirror.synced;
    await mirror.disconnect();
    await everyCallRejectsDisconnected(mirror);
    expect(mirror.state).toBe('synced');
    await mirror.synced;
    await primary.read(0, [new Uint8Array(SS)]);
    await secondary.write(0, [new Uint8Array(SS)]);
  });

  it('disconnects both children with disconnectChildren, after the requests in flight have settled', async () => {
    const primary = await denseDisk(3);
    const inner = ramdisk(SIZE * SS, SS);
    const gate = withGate(inner, (op, args) => op === 'write' && args[0] === 100);
    const secondary = gate.device;
    const mirror = await connect(primary, secondary, { disconnectChildren: true });
    await mirror.synced;
    const write = mirror.write(100, [pattern(100, 2, SS, 4)]);
    await gate.reached();
    const done = mirror.disconnect();
    await settle();
    gate.open();
    await write;
    await done;
    await expectBlockError(primary.getInfo(), 'DISCONNECTED');
    await expectBlockError(inner.getInfo(), 'DISCONNECTED');
  });

  it('right after connect, before the copy has started: nothing is written to the secondary', async () => {
    const primary = await denseDisk(4);
    const secondary = withFaults(ramdisk(SIZE * SS, SS), () => false);
    const mirror = await connect(primary, secondary);
    await mirror.disconnect();
    await expectBlockError(mirror.synced, 'DISCONNECTED');
    expect(secondary.counts.write ?? 0).toBe(0);
  });

  it('ends a throttle wait at once instead of sleeping it out', async () => {
    const primary = await denseDisk(5);
    const events: MirrorProgress[] = [];
    const mirror = await connect(primary, ramdisk(SIZE * SS, SS), {
      chunkBytes: 4096,
      concurrency: 1,
      throttle: { bytesPerSecond: 1 },
      onProgress: (e) => events.push(e),
    });
    // After one 4 KiB window the copy owes an hour of waiting; disconnect must not wait for it.
    await settle(10);
    expect(events.filter((e) => e.type === 'percent').length).toBeGreaterThanOrEqual(1);
    await mirror.disconnect();
    await expectBlockError(mirror.synced, 'DISCONNECTED');
  });

  it('is idempotent and concurrent-safe, and requests accepted before it still complete on both children', async () => {
    const primary = await denseDisk(6);
    const secondary = ramdisk(SIZE * SS, SS);
    const mirror = await connect(primary, secondary);
    await mirror.synced;
    const writes = Array.from({ length: 16 }, (_, i) => mirror.write(i * 8, [pattern(i * 8, 4, SS, 50 + i)]));
    await Promise.all([mirror.disconnect(), mirror.disconnect(), ...writes]);
    await mirror.disconnect();
    expect(await compare(primary, secondary)).toBe(0);
  });
});
