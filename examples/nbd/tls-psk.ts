import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer } from '@blk/nbd';
import { Ramdisk } from '@blk/ramdisk';

const dir = await mkdtemp(join(tmpdir(), 'blk-tls-'));
const pskFile = join(dir, 'keys.psk'); // as `psktool -u alice -p keys.psk` writes it
await writeFile(pskFile, `alice:${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });

const server = createServer({ exports: { '': new Ramdisk({ sizeSectors: 2048 }) }, tls: { pskFile } });
const socket = join(dir, 'nbd.sock');
await server.listen({ path: socket });

const uri = `nbds+unix://alice@/?socket=${socket}&tls-psk-file=${pskFile}`;
// nbdinfo "$uri"
// qemu-img info --object tls-creds-psk,id=t,dir=DIR,username=alice,endpoint=client \
//   --image-opts driver=nbd,path=SOCKET,tls-creds=t        (DIR holds keys.psk)
const disk = await connect(uri);
console.log(await disk.getInfo());
await disk.disconnect();
await server.close();
await rm(dir, { recursive: true });
