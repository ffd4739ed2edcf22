import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeStatus, openFileDevice } from '@blk/fmap';

const dir = await mkdtemp(join(tmpdir(), 'blk-file-'));
const path = join(dir, 'disk.img'); // lock: true takes disk.img.lock beside it
const disk = await openFileDevice(path, { create: true, sizeSectors: 2048, sectorSize: 512, lock: true });
await disk.write(0, [new Uint8Array(512).fill(1)]);
await disk.flush(); // fdatasync
await disk.discard(8, 1024); // zeroes; punches a hole where the file system can
console.log(await disk.seekMapped(0), await disk.seekUnmapped(0));
console.log(nativeStatus()); // whether the optional addon is in use
await disk.disconnect();
await rm(dir, { recursive: true });
