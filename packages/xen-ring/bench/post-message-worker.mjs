// The anchor's other thread: a Ramdisk served over MessagePort.postMessage, one message per request
// and one per reply, the obvious way to put a device in another thread.
import { parentPort, workerData } from 'node:worker_threads';
import { Ramdisk } from '@blk/ramdisk';

const device = new Ramdisk({ sizeSectors: workerData.sizeSectors });
parentPort.on('message', (message) => {
  const { id, op, sector, data, length } = message;
  if (op === 'write') {
    device.write(sector, [data]).then(
      () => parentPort.postMessage({ id }),
      (error) => parentPort.postMessage({ id, error: String(error) }),
    );
  } else {
    const buffer = new Uint8Array(length);
    device.read(sector, [buffer]).then(
      () => parentPort.postMessage({ id, data: buffer }, [buffer.buffer]),
      (error) => parentPort.postMessage({ id, error: String(error) }),
    );
  }
});
