import { Ramdisk } from '@blk/ramdisk';
import { connect } from '@blk/mirror';

const oldDisk = new Ramdisk({ sizeSectors: 64 * 2048 }); // 64 MiB
await oldDisk.write(0, [new Uint8Array(1 << 20).fill(1)]);
const newDisk = new Ramdisk({ sizeSectors: 64 * 2048 });

const mirror = await connect(oldDisk, newDisk, {
  onProgress: (e) => {
    if (e.type === 'percent') console.log(`${e.percent} %, ${e.bytesPerSecond} B/s, ${e.secondsLeft ?? '?'} s left`);
    else if (e.type === 'complete') console.log('in sync');
    else console.error('mirror failed:', e.error);
  },
});
// The mirror is a BlockDevice (serve it, e.g. with @blk/nbd): reads hit oldDisk, writes land on both.
await mirror.write(4096, [new Uint8Array(512).fill(2)]);

try {
  await mirror.synced; // newDisk now equals oldDisk, and stays equal while writes continue
  await mirror.disconnect(); // stops mirroring; the children stay connected (see below)
  const sector = new Uint8Array(512);
  await newDisk.read(4096, [sector]);
  console.log(sector[0]); // 2: carry on with newDisk alone
} catch (error) {
  // mirror.state === 'failed': oldDisk is still being served, newDisk is not a mirror.
  console.error(mirror.state, error);
  process.exitCode = 1;
}
