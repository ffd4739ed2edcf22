import { connect, create, remove } from '@blk/rbd';

const conf = process.env.CEPH_CONF; // a ceph.conf; without it librados's default
const image = { pool: 'rbd', image: 'vm1', clientName: 'admin', ...(conf ? { conf } : {}) };
await create(image, { sizeBytes: 64 * 2 ** 20 });
const disk = await connect(image);
await disk.write(0, [new Uint8Array(512).fill(7)]);
await disk.flush();
await disk.snapshot('golden'); // a point-in-time copy
await disk.write(0, [new Uint8Array(512).fill(8)]);

const golden = await connect({ ...image, snapshot: 'golden' }); // a read-only device of it
const sector = new Uint8Array(512);
await golden.read(0, [sector]);
console.log(sector[0], (await golden.getInfo()).readWrite); // 7 false
await golden.disconnect();
await disk.disconnect();
await remove(image, { purgeSnapshots: true });
