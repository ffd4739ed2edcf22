import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from '@blk/nbd';
import { Ramdisk } from '@blk/ramdisk';

const dir = await mkdtemp(join(tmpdir(), 'blk-nbd-'));
const server = createServer({
  exports: {
    '': new Ramdisk({ sizeSectors: 2 * 1024 * 1024 }), // the default export, 1 GiB
    scratch: { device: new Ramdisk(), description: 'throwaway disk' },
    golden: { device: new Ramdisk({ sizeSectors: 2048 }), readOnly: true },
  },
});
const { uri } = await server.listen({ path: join(dir, 'nbd.sock') }); // or { host, port } (port 0: any free one)
console.log(uri); // nbd+unix:///?socket=/tmp/blk-nbd-…/nbd.sock
// qemu-img info "$uri" ; nbdinfo --map "$uri" ; nbdcopy … ; fio --ioengine=nbd …
await server.close();
await rm(dir, { recursive: true });
