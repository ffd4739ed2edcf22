// The client side of the benchmark, run as its own `node` process on the built package (dist/):
// moves BYTES between memory and the export at URI in 2 MiB requests, 16 in flight over 4
// connections, and prints the seconds it took (connect to disconnect).
//   node bench/client.mjs URI write|read BYTES
import { Buffer } from 'node:buffer';
import { randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { connect } from '../dist/index.js';

const [uri, direction, bytesText] = process.argv.slice(2);
const total = Number(bytesText);
if (!uri || (direction !== 'write' && direction !== 'read') || !Number.isSafeInteger(total)) {
  console.error('usage: client.mjs URI write|read BYTES');
  process.exit(2);
}
const REQUEST = 2 << 20;
const IN_FLIGHT = 16;
const pattern = randomFillSync(Buffer.alloc(REQUEST));
const buffers = Array.from({ length: IN_FLIGHT }, () => Buffer.from(pattern));

const start = performance.now();
const device = await connect({ uri, connections: 4 });
let next = 0;
await Promise.all(
  buffers.map(async (buffer) => {
    while (next < total) {
      const offset = next;
      next += REQUEST;
      const piece = buffer.subarray(0, Math.min(REQUEST, total - offset));
      if (direction === 'write') await device.write(offset / 512, [piece]);
      else await device.read(offset / 512, [piece]);
    }
  }),
);
if (direction === 'write') await device.flush();
await device.disconnect();
console.log(((performance.now() - start) / 1000).toFixed(4));
