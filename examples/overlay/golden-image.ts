import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFileDevice } from '@blk/fmap';
import { overlay, overlayTopBytes } from '@blk/overlay';

const dir = mkdtempSync(join(tmpdir(), 'golden-'));
const golden = join(dir, 'golden.img');
const changes = join(dir, 'changes.img');
writeFileSync(golden, new Uint8Array(4 << 20).fill(7)); // a 4 MiB golden image

const base = await openFileDevice(golden, { readOnly: true });
const top = await openFileDevice(changes, { create: true, sizeSectors: overlayTopBytes(4 << 20) / 512 });
const disk = await overlay(base, top, { disconnectChildren: true });
await disk.write(0, [new Uint8Array(512).fill(1)]); // lands in changes.img; golden.img is never written
await disk.discard!(128, 128); // reads zero from now on, whatever golden.img holds
await disk.flush!(); // the data, then the map: both survive a crash
await disk.disconnect();

// Later, in another process: the same two files give the same disk.
const again = await overlay(await openFileDevice(golden, { readOnly: true }), await openFileDevice(changes), { disconnectChildren: true });
const sector = new Uint8Array(512);
await again.read(0, [sector]);
console.log(sector[0], again.changes); // 1 { dataBlocks: 1, zeroBlocks: 1 }
await again.disconnect();

// Keep the changes: write them down into the golden image itself.
const keep = await overlay(await openFileDevice(golden), await openFileDevice(changes), { disconnectChildren: true });
await keep.commit();
console.log(keep.changes); // { dataBlocks: 0, zeroBlocks: 0 }
await keep.disconnect();
rmSync(dir, { recursive: true });
