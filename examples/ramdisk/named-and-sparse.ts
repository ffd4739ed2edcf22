import { Ramdisk, connect, create, destroy } from '@blk/ramdisk';

const scratch = new Ramdisk({ sizeSectors: 2 ** 31, sectorSize: 4096 }); // 8 TiB, costs nothing yet
await scratch.write(0, [new Uint8Array(4096).fill(7)]);
console.log(await scratch.seekMapped(1), scratch.allocatedBytes);

const a = await create('vm1', { sizeSectors: 2048 * 1024 }); // 1 GiB of 512-byte sectors
const b = await connect('vm1'); // the same device
await a.write(0, [new Uint8Array(512).fill(1)]);
await a.disconnect(); // b still works; the data stays
const sector = new Uint8Array(512);
await b.read(0, [sector]);
console.log(sector[0]); // 1
await b.disconnect();
destroy('vm1'); // next connect('vm1') is fresh
