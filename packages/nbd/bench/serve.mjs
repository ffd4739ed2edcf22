// The server side of the benchmark, run as its own `node` process on the built package (dist/),
// as users run it, until SIGTERM:
//   node bench/serve.mjs SOCKET ram BYTES     a ramdisk of BYTES
//   node bench/serve.mjs SOCKET file PATH     the file at PATH (openFileDevice's defaults)
import { openFileDevice } from '@blk/fmap';
import { Ramdisk } from '@blk/ramdisk';
import { createServer } from '../dist/index.js';

const [path, kind, what] = process.argv.slice(2);
if (!path || (kind !== 'ram' && kind !== 'file') || !what) {
  console.error('usage: serve.mjs SOCKET ram BYTES | serve.mjs SOCKET file PATH');
  process.exit(2);
}
const device = kind === 'ram' ? new Ramdisk({ sizeSectors: Number(what) / 512 }) : await openFileDevice(what);
const server = createServer({ exports: { '': device } });
await server.listen({ path });
console.log('listening');
process.on('SIGTERM', () => {
  void server
    .close()
    .then(() => device.disconnect())
    .then(() => process.exit(0));
});
