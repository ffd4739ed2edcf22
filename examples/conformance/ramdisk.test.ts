// test/conformance.test.ts of your backend (here: @blk/ramdisk standing in for MyDisk)
import { describeBlockDevice } from '@blk/conformance';
import { Ramdisk } from '@blk/ramdisk';

describeBlockDevice('Ramdisk 512', () => new Ramdisk({ sizeSectors: 256, sectorSize: 512 }));
describeBlockDevice('Ramdisk 4096', () => new Ramdisk({ sizeSectors: 64, sectorSize: 4096 }));
