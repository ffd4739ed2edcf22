import { readOnlyView } from '@blk/core';
import { describeBlockDevice, withLatency } from '@blk/conformance';
import { Ramdisk } from '@blk/ramdisk';
import { connectPair } from './helpers/pair.js';

// Frontend and backend in this thread (fast, so every variant is covered); the worker-thread
// setup runs the suite in conformance-worker.test.ts.
const inThread = (device: ConstructorParameters<typeof Ramdisk>[0], options: Parameters<typeof connectPair>[1] = {}) => async () => {
  const pair = await connectPair(new Ramdisk(device), options);
  const { front } = pair;
  // The suite disconnects the device; stop the backend with it.
  const disconnect = front.disconnect.bind(front);
  Object.defineProperty(front, 'disconnect', { value: () => disconnect().then(() => pair.service.close()) });
  return front;
};

describeBlockDevice('Blkfront (in-thread) 512', inThread({ sizeSectors: 256 }));
describeBlockDevice('Blkfront (in-thread) 4096', inThread({ sizeSectors: 64, sectorSize: 4096 }));
describeBlockDevice('Blkfront (in-thread) 64 KiB sectors', inThread({ sizeSectors: 40, sectorSize: 65536 }));
describeBlockDevice('Blkfront (in-thread) direct requests, no persistent grants', inThread({ sizeSectors: 300 }, { back: { maxIndirectSegments: 0, persistent: false } }));
describeBlockDevice('Blkfront (in-thread) read-only backend', inThread({ sizeSectors: 64 }, { mode: 'r' }));
describeBlockDevice('Blkfront (in-thread) over a device with random latency', async () => {
  const pair = await connectPair(withLatency(new Ramdisk({ sizeSectors: 128 }), { maxMs: 2 }));
  const disconnect = pair.front.disconnect.bind(pair.front);
  Object.defineProperty(pair.front, 'disconnect', { value: () => disconnect().then(() => pair.service.close()) });
  return pair.front;
});
describeBlockDevice('readOnlyView of Blkfront (in-thread)', async () => readOnlyView(await inThread({ sizeSectors: 64 })()));
