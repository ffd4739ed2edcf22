import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFmapDevice } from '@blk/fmap';

const dir = await mkdtemp(join(tmpdir(), 'blk-fmap-'));
// 1 TiB of 512-byte sectors that costs a few KiB until it is written; an existing file is opened as it is
const disk = await openFmapDevice(join(dir, 'vm.fmap'), { create: { sizeSectors: 2 ** 31 } });
await disk.write(2048, [new Uint8Array(4096).fill(1)]); // the first write to a unit takes a block for it
await disk.discard(0, 1 << 20); // whole units go back to the BlockFile, partial ones are zeroed
await disk.flush(); // the commit: data, map and superblock durable at once
console.log(await disk.seekMapped(0), disk.stats());
await disk.disconnect(); // commits and closes
await rm(dir, { recursive: true });
