import { compare, copy, extents, isBlockError, type BlockDevice } from '@blk/core';
import { Ramdisk } from '@blk/ramdisk';

async function backup(src: BlockDevice, dst: BlockDevice, signal: AbortSignal) {
  await copy(src, dst, { signal, onProgress: (done, total) => console.log(`${done}/${total} bytes`) });
  if ((await compare(src, dst)) !== 0) throw new Error('copy differs');
  for await (const { sector, count, mapped } of extents(src)) console.log(sector, count, mapped);
}

const disk = new Ramdisk({ sizeSectors: 2048 }); // 1 MiB
await disk.write(100, [new Uint8Array(512).fill(9)]);
await backup(disk, new Ramdisk({ sizeSectors: 2048 }), AbortSignal.timeout(10_000));

try {
  await disk.write(-1, [new Uint8Array(512)]);
} catch (e) {
  if (isBlockError(e, 'OUT_OF_RANGE')) console.log('refused before anything was written');
  else throw e;
}
