import { readOnlyView, type BlockDevice } from '@blk/core';
import { describeBlockDevice, withLatency, type ConformanceOptions, type DeviceFactory } from '@blk/conformance';
import { Ramdisk } from '@blk/ramdisk';
import { afterAll, describe, expect } from 'vitest';
import { connect, type Mirror, type MirrorOptions } from '../src/index.js';
import { restrict, seeded } from './helpers/devices.js';

/** A device that reads zero everywhere but is fully mapped, so the copy has data to move. */
async function zeroFilled(bytes: number, sectorSize: number): Promise<BlockDevice> {
  const disk = new Ramdisk({ sizeSectors: bytes / sectorSize, sectorSize });
  await disk.write(0, [new Uint8Array(bytes)]);
  // Not sparse any more: a "fresh sparse device maps nothing" would be untrue.
  return restrict(disk, ['sparse']);
}

function synced(make: () => BlockDevice[] | Promise<BlockDevice[]>, options: MirrorOptions = {}): DeviceFactory {
  return async () => {
    const [primary, secondary] = await make();
    const mirror = await connect(primary!, secondary!, options);
    await mirror.synced;
    expect(mirror.state).toBe('synced');
    return mirror;
  };
}

/** The state of each copying mirror when the suite disconnected it: must still be `copying`. */
const statesAtDisconnect: string[] = [];

/**
 * 8 MiB at 256 KiB/s: a window every 16 ms or so, and the whole copy takes 32 s, longer than any
 * test may run (30 s), so every device is still copying when the suite disconnects it.
 */
const COPYING_BYTES = 8 << 20;
const SLOW: MirrorOptions = { chunkBytes: 4096, concurrency: 2, throttle: { bytesPerSecond: 256 * 1024 } };

function copying(make: () => Promise<BlockDevice[]>): DeviceFactory {
  return async () => {
    const [primary, secondary] = await make();
    const mirror: Mirror = await connect(primary!, secondary!, SLOW);
    const disconnect = mirror.disconnect.bind(mirror);
    let first = true;
    mirror.disconnect = () => {
      // Later calls see `failed`: a mirror disconnected before it synced has failed to sync.
      if (first) statesAtDisconnect.push(mirror.state);
      first = false;
      return disconnect();
    };
    return mirror;
  };
}

describe('copying fixtures', () => {
  afterAll(() => {
    expect(statesAtDisconnect.length).toBeGreaterThan(100);
    expect(statesAtDisconnect.filter((s) => s !== 'copying')).toEqual([]);
  });

  describeBlockDevice(
    'Mirror 512 → 512 while copying',
    copying(async () => [await zeroFilled(COPYING_BYTES, 512), new Ramdisk({ sizeSectors: COPYING_BYTES / 512 })]),
  );
  describeBlockDevice(
    'Mirror 512 → 4096 while copying',
    copying(async () => [await zeroFilled(COPYING_BYTES, 512), new Ramdisk({ sizeSectors: COPYING_BYTES / 4096, sectorSize: 4096 })]),
  );
  describeBlockDevice(
    'Mirror 4096 → 512 while copying',
    copying(async () => [await zeroFilled(COPYING_BYTES, 4096), new Ramdisk({ sizeSectors: COPYING_BYTES / 512 })]),
  );
  let seed = 1;
  describeBlockDevice(
    'Mirror onto a slow secondary while copying',
    copying(async () => [
      await zeroFilled(COPYING_BYTES, 512),
      withLatency(new Ramdisk({ sizeSectors: COPYING_BYTES / 512 }), { maxMs: 2, random: seeded(seed++) }),
    ]),
  );
  describeBlockDevice(
    'Mirror of plain devices (no seek, discard, writeZeroes or flush) while copying',
    copying(async () => {
      const plain = ['seek', 'sparse', 'discard', 'writeZeroes', 'flush', 'resize'] as const;
      return [restrict(await zeroFilled(COPYING_BYTES, 512), plain), restrict(new Ramdisk({ sizeSectors: COPYING_BYTES / 512 }), plain)];
    }),
  );
});

/** 5 GiB sparse children: the large-request test crosses the 4 GiB mark through the mirror. */
const LARGE_BYTES = 5 * 2 ** 30;

/**
 * The suite's extra hooks for a synced mirror of two fresh Ramdisks: faults injected below the
 * primary (a secondary failure only moves the mirror to `failed`, by design), and a large pair.
 */
function hooks(
  primary: (bytes: number) => BlockDevice,
  secondary: (bytes: number) => BlockDevice,
  bytes: number,
  options: MirrorOptions = {},
): ConformanceOptions {
  return {
    overFaults: (faulty) => synced(() => [faulty(primary(bytes)), secondary(bytes)], options)(),
    large: synced(() => [primary(LARGE_BYTES), secondary(LARGE_BYTES)], options),
  };
}

const ram = (sectorSize: number, pageSize?: number) => (bytes: number) =>
  new Ramdisk({ sizeSectors: bytes / sectorSize, sectorSize, ...(pageSize === undefined ? {} : { pageSize }) });

describeBlockDevice(
  'Mirror 512 → 512 after sync',
  synced(() => [new Ramdisk({ sizeSectors: 256 }), new Ramdisk({ sizeSectors: 256 })]),
  hooks(ram(512), ram(512), 256 * 512),
);
describeBlockDevice(
  'Mirror 512 → 4096 after sync',
  synced(() => [new Ramdisk({ sizeSectors: 512, pageSize: 4096 }), new Ramdisk({ sizeSectors: 64, sectorSize: 4096 })]),
  hooks(ram(512, 4096), ram(4096), 512 * 512),
);
describeBlockDevice(
  'Mirror 4096 → 512 after sync, small chunks',
  synced(() => [new Ramdisk({ sizeSectors: 48, sectorSize: 4096 }), new Ramdisk({ sizeSectors: 384 })], { chunkBytes: 3 * 4096 }),
  hooks(ram(4096), ram(512), 48 * 4096, { chunkBytes: 3 * 4096 }),
);
describeBlockDevice(
  'Mirror of a read-only primary after sync',
  synced(() => [readOnlyView(new Ramdisk({ sizeSectors: 64 })), new Ramdisk({ sizeSectors: 64 })]),
  hooks((bytes) => readOnlyView(ram(512)(bytes)), ram(512), 64 * 512),
);
