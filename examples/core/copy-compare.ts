import { copy, compare } from '@blk/core';
import { Ramdisk } from '@blk/ramdisk';

const a = new Ramdisk({ sizeSectors: 2048 * 1024 }); // 1 GiB, sparse
await a.write(0, [new Uint8Array(512).fill(1)]);
const b = new Ramdisk({ sizeSectors: 256 * 1024, sectorSize: 4096 });
await copy(a, b, { onProgress: (done, total) => console.log(done, total) }); // sparse-aware
console.log(await compare(a, b)); // 0
