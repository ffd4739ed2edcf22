import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeBlockDevice } from '@blk/conformance';
import { describeWhen, makeTempDir } from '@blk/test-kit';
import { afterAll } from 'vitest';
import { openFileDevice, type FileDeviceOptions } from '../src/index.js';
import { nativeMissing } from './helpers/missing.js';

const temp = makeTempDir('blk-fmap-conf-');
afterAll(() => temp.remove());
let serial = 0;

function factory(sectorSize: number, sizeSectors: number, options: FileDeviceOptions = {}) {
  return async () => {
    const path = join(temp.path, `disk-${serial++}.img`);
    writeFileSync(path, new Uint8Array(0));
    const { truncateSync } = await import('node:fs');
    truncateSync(path, sectorSize * sizeSectors);
    return openFileDevice(path, { sectorSize, ...options });
  };
}

describeBlockDevice('file device 512', factory(512, 256));
describeBlockDevice('file device 4096', factory(4096, 64));
describeBlockDevice('file device read-only', factory(512, 256, { readOnly: true }));
describeBlockDevice('file device 512, blocking io', factory(512, 256, { io: 'sync' }));
// With the addon the blocks above run on the native engine; this one runs the pure TypeScript io.
describeWhen('the native engine beside the pure TypeScript io', nativeMissing(), () => {
  describeBlockDevice('file device 512 without the addon', factory(512, 256, { native: false }));
});
