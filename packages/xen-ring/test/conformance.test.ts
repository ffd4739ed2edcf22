import { readOnlyView } from '@blk/core';
import type { BlockDevice } from '@blk/core';
import { describeBlockDevice, withLatency, type ConformanceOptions } from '@blk/conformance';
import { Ramdisk, type RamdiskOptions } from '@blk/ramdisk';
import { connectPair } from './helpers/pair.js';

// Frontend and backend in this thread (fast, so every variant is covered); the worker-thread
// setup runs the suite in conformance-worker.test.ts.
/** Blkfront and Blkback in this thread over `device`; disconnecting the front stops the backend too. */
async function pairOver(device: BlockDevice, options: Parameters<typeof connectPair>[1] = {}) {
  const pair = await connectPair(device, options);
  const { front } = pair;
  // The suite disconnects the device; stop the backend with it.
  const disconnect = front.disconnect.bind(front);
  Object.defineProperty(front, 'disconnect', { value: () => disconnect().then(() => pair.service.close()) });
  return front;
}

/** 5 GiB, sparse: the large-request test crosses the 4 GiB mark and every segment limit. */
const LARGE_BYTES = 5 * 2 ** 30;

const inThread =
  (device: RamdiskOptions, options: Parameters<typeof connectPair>[1] = {}) =>
  () =>
    pairOver(new Ramdisk(device), options);

/** Faults injected in the Ramdisk that Blkback serves, and a large Ramdisk, for the same setup. */
function hooks(device: RamdiskOptions, options: Parameters<typeof connectPair>[1] = {}): ConformanceOptions {
  const sectorSize = device.sectorSize ?? 512;
  return {
    overFaults: (faulty) => pairOver(faulty(new Ramdisk(device)), options),
    large: inThread({ ...device, sizeSectors: LARGE_BYTES / sectorSize }, options),
  };
}

function described(name: string, device: RamdiskOptions, options: Parameters<typeof connectPair>[1] = {}) {
  describeBlockDevice(name, inThread(device, options), hooks(device, options));
}

described('Blkfront (in-thread) 512', { sizeSectors: 256 });
described('Blkfront (in-thread) 4096', { sizeSectors: 64, sectorSize: 4096 });
described('Blkfront (in-thread) 64 KiB sectors', { sizeSectors: 40, sectorSize: 65536 });
described(
  'Blkfront (in-thread) direct requests, no persistent grants',
  { sizeSectors: 300 },
  { back: { maxIndirectSegments: 0, persistent: false } },
);
described('Blkfront (in-thread) read-only backend', { sizeSectors: 64 }, { mode: 'r' });
describeBlockDevice(
  'Blkfront (in-thread) over a device with random latency',
  () => pairOver(withLatency(new Ramdisk({ sizeSectors: 128 }), { maxMs: 2 })),
  {
    overFaults: (faulty) => pairOver(faulty(withLatency(new Ramdisk({ sizeSectors: 128 }), { maxMs: 2 }))),
  },
);
describeBlockDevice('readOnlyView of Blkfront (in-thread)', async () => readOnlyView(await inThread({ sizeSectors: 64 })()));
