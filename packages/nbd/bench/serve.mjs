// The server side of the benchmark, run as its own `node` process on the built package (dist/),
// as users run it: a ramdisk of SIZE_MIB exported on the Unix socket PATH until SIGTERM.
//   node bench/serve.mjs PATH SIZE_MIB
import { Ramdisk } from '@blk/ramdisk';
import { createServer } from '../dist/index.js';

const [path, sizeMiB = '1024'] = process.argv.slice(2);
if (!path) {
  console.error('usage: serve.mjs PATH [SIZE_MIB]');
  process.exit(2);
}
const server = createServer({ exports: { '': new Ramdisk({ sizeSectors: Number(sizeMiB) * 2048 }) } });
await server.listen({ path });
console.log('listening');
process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
