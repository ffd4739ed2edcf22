import { join } from 'node:path';
import { describeBlockDevice } from '@blk/conformance';
import { makeTempDir } from '@blk/test-kit';
import { afterAll } from 'vitest';
import { nativeStatus, openFmapDevice, type FmapCreateOptions, type FmapDeviceOptions } from '../src/index.js';

const temp = makeTempDir('blk-fmap-device-conf-');
afterAll(() => temp.remove());
let serial = 0;

function factory(create: FmapCreateOptions, options: Omit<FmapDeviceOptions, 'create'> = {}) {
  return async () => {
    const path = join(temp.path, `disk-${serial++}.fmap`);
    if (options.readOnly !== true) return openFmapDevice(path, { ...options, create });
    await (await openFmapDevice(path, { create })).disconnect();
    return openFmapDevice(path, options);
  };
}

// Sizes that are not whole units, so the device's last unit sticks out past its end.
describeBlockDevice('fmap device 512, 4 KiB units', factory({ sizeSectors: 259, sectorSize: 512, blockSize: 4096 }));
describeBlockDevice('fmap device 4096, 16 KiB units', factory({ sizeSectors: 67, sectorSize: 4096, blockSize: 16384 }));
describeBlockDevice('fmap device 512, default 64 KiB units', factory({ sizeSectors: 300 }));
describeBlockDevice('fmap device read-only', factory({ sizeSectors: 256, blockSize: 4096 }, { readOnly: true }));
if (nativeStatus().available) {
  describeBlockDevice('fmap device 512, mmap engine', factory({ sizeSectors: 259, blockSize: 4096 }, { engine: 'mmap' }));
}
