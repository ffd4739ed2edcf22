import { connectWorker } from '@blk/xen-ring';

// The worker imports '@blk/ramdisk' (resolved from this module) and builds `new Ramdisk(options)`.
const disk = await connectWorker(
  { module: '@blk/ramdisk', export: 'Ramdisk', options: { sizeSectors: 2 ** 21, sectorSize: 4096 } },
  { from: import.meta.url },
);
await disk.write(0, [new Uint8Array(4096).fill(1)]);
console.log(await disk.getInfo(), disk.supports, disk.negotiated);
await disk.disconnect(); // closes both ends and ends the worker
