import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BlockDevice } from '@blk/core';
import { describeBlockDevice } from '@blk/conformance';
import { describeWhen, makeTempDir } from '@blk/test-kit';
import { afterAll } from 'vitest';
import { FileDevice, openFileDevice, type FileDeviceOptions } from '../src/index.js';
import { nativeMissing } from './helpers/missing.js';

const temp = makeTempDir('blk-fmap-conf-');
afterAll(() => temp.remove());
let serial = 0;

/** 5 GiB, a sparse file: the large-request test crosses the 4 GiB mark. */
const LARGE_BYTES = 5 * 2 ** 30;

function factory(sectorSize: number, sizeSectors: number, options: FileDeviceOptions = {}) {
  return () => {
    const path = join(temp.path, `disk-${serial++}.img`);
    writeFileSync(path, new Uint8Array(0));
    truncateSync(path, sectorSize * sizeSectors);
    return openFileDevice(path, { sectorSize, ...options });
  };
}

function pathOf(device: BlockDevice): string {
  if (!(device instanceof FileDevice)) throw new Error('reopen got a device this factory did not make');
  return device.path;
}

/** The suite's options for a variant: reopen the same file the same way, and a large sparse file. */
function variant(sectorSize: number, options: FileDeviceOptions = {}) {
  return {
    reopen: (device: BlockDevice) => openFileDevice(pathOf(device), { sectorSize, ...options }),
    large: factory(sectorSize, LARGE_BYTES / sectorSize, options),
  };
}

describeBlockDevice('file device 512', factory(512, 256), variant(512));
describeBlockDevice('file device 4096', factory(4096, 64), variant(4096));
describeBlockDevice('file device read-only', factory(512, 256, { readOnly: true }), variant(512, { readOnly: true }));
describeBlockDevice('file device 512, blocking io', factory(512, 256, { io: 'sync' }), variant(512, { io: 'sync' }));
// With the addon the blocks above run on the native engine; this one runs the pure TypeScript io.
describeWhen('the native engine beside the pure TypeScript io', nativeMissing(), () => {
  describeBlockDevice('file device 512 without the addon', factory(512, 256, { native: false }), variant(512, { native: false }));
});
