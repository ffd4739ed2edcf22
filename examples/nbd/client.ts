import { extents } from '@blk/core';
import { connect, createServer } from '@blk/nbd';
import { Ramdisk } from '@blk/ramdisk';

const server = createServer({ exports: { vm1: new Ramdisk({ sizeSectors: 2048 }) } });
const port = 0; // 0: any free port; 10809 is NBD's own
const address = await server.listen({ host: '127.0.0.1', port });
if (!('port' in address)) throw new Error('not a TCP listener');

const disk = await connect(`nbd://127.0.0.1:${address.port}/vm1`); // any libnbd URI
await disk.write(8, [new Uint8Array(512).fill(1)]);
const sector = new Uint8Array(512);
await disk.read(8, [sector]);
for await (const run of extents(disk)) console.log(run); // from base:allocation
await disk.disconnect();

const fast = await connect({ host: '127.0.0.1', port: address.port, exportName: 'vm1', connections: 4 });
console.log(await fast.getInfo());
await fast.disconnect();
await server.close();
