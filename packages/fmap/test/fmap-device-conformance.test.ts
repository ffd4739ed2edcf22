import { join } from 'node:path';
import type { BlockDevice } from '@blk/core';
import { describeBlockDevice } from '@blk/conformance';
import { makeTempDir } from '@blk/test-kit';
import { afterAll } from 'vitest';
import { FmapDevice, nativeStatus, openFmapDevice, type FmapCreateOptions, type FmapDeviceOptions } from '../src/index.js';

const temp = makeTempDir('blk-fmap-device-conf-');
afterAll(() => temp.remove());
let serial = 0;

/** 5 GiB: the map is sparse, so the large-request test crosses the 4 GiB mark cheaply. */
const LARGE_BYTES = 5 * 2 ** 30;

type Options = Omit<FmapDeviceOptions, 'create'>;

function factory(create: FmapCreateOptions, options: Options = {}) {
  return async () => {
    const path = join(temp.path, `disk-${serial++}.fmap`);
    if (options.readOnly !== true) return openFmapDevice(path, { ...options, create });
    await (await openFmapDevice(path, { create })).disconnect();
    return openFmapDevice(path, options);
  };
}

function pathOf(device: BlockDevice): string {
  if (!(device instanceof FmapDevice)) throw new Error('reopen got a device this factory did not make');
  return device.path;
}

/** The suite's options for a variant: reopen the same file the same way, and a large device. */
function variant(create: FmapCreateOptions, options: Options = {}) {
  return {
    reopen: (device: BlockDevice) => openFmapDevice(pathOf(device), options),
    large: factory({ ...create, sizeSectors: LARGE_BYTES / (create.sectorSize ?? 512) }, options),
  };
}

/** A variant's create options and the suite's options for it. */
function described(name: string, create: FmapCreateOptions, options: Options = {}) {
  describeBlockDevice(name, factory(create, options), variant(create, options));
}

// Sizes that are not whole units, so the device's last unit sticks out past its end.
described('fmap device 512, 4 KiB units', { sizeSectors: 259, sectorSize: 512, blockSize: 4096 });
described('fmap device 4096, 16 KiB units', { sizeSectors: 67, sectorSize: 4096, blockSize: 16384 });
described('fmap device 512, default 64 KiB units', { sizeSectors: 300 });
described('fmap device read-only', { sizeSectors: 256, blockSize: 4096 }, { readOnly: true });
if (nativeStatus().available) {
  described('fmap device 512, mmap engine', { sizeSectors: 259, blockSize: 4096 }, { engine: 'mmap' });
}
