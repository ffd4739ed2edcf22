// In a dedicated worker, e.g. new Worker(new URL('./disk-worker.js', import.meta.url), { type: 'module' })
import { openOpfsDevice } from '@blk/opfs';

const disk = await openOpfsDevice('vm1.img', { sizeSectors: 2048 * 64 }); // 64 MiB, made on first open
const info = await disk.getInfo();
await disk.write(0, [new Uint8Array(512).fill(7)]);
await disk.flush?.(); // on disk now: survives a reload of the page
await disk.disconnect(); // releases the file's lock

const again = await openOpfsDevice('vm1.img'); // the same file, with its own size
const sector = new Uint8Array(512);
await again.read(0, [sector]);
console.log(info.sizeSectors, sector[0]); // 131072 7
await again.disconnect();
