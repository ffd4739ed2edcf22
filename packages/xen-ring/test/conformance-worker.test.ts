import { describeBlockDevice } from '@blk/conformance';
// The worker entry only exists built: the suite runs against what consumers get.
import { connectWorker } from '../dist/index.js';

const ramdisk = (options: object) => () => connectWorker({ module: '@blk/ramdisk', export: 'Ramdisk', options }, { from: import.meta.url });

/** 5 GiB, sparse: one request of more than 32 MiB crosses the 4 GiB mark between the threads. */
const LARGE_BYTES = 5 * 2 ** 30;

describeBlockDevice('Blkfront ↔ Blkback in a worker, 512', ramdisk({ sizeSectors: 256 }), {
  modelRuns: 10,
  large: ramdisk({ sizeSectors: LARGE_BYTES / 512 }),
});
describeBlockDevice('Blkfront ↔ Blkback in a worker, 4096', ramdisk({ sizeSectors: 64, sectorSize: 4096 }), {
  modelRuns: 10,
  large: ramdisk({ sizeSectors: LARGE_BYTES / 4096, sectorSize: 4096 }),
});
