import { connect, destroy } from '@blk/simple-mem';

const disk = await connect('scratch'); // 32768 × 512 bytes = 16 MiB
await disk.write(0, [new Uint8Array(512).fill(1)]);
await disk.disconnect();
const again = await connect('scratch'); // same device, data kept
const sector = new Uint8Array(512);
await again.read(0, [sector]);
console.log(sector[0]); // 1
await again.disconnect();
destroy('scratch'); // the next connect starts empty
const big = await connect('big', { sizeSectors: 1 << 20, sectorSize: 4096 }); // 4 GiB, 0 bytes used yet
console.log(await big.getInfo());
await big.disconnect();
destroy('big');
