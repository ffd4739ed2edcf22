import { readOnlyView } from '@blk/core';
import { describeBlockDevice } from '@blk/conformance';
import { Ramdisk, connect, create } from '../src/index.js';

/** 5 GiB, sparse: the large-request test crosses the 4 GiB mark and uses the last sectors. */
const LARGE_BYTES = 5 * 2 ** 30;
const large =
  (sectorSize = 512, pageSize?: number) =>
  () =>
    new Ramdisk({ sizeSectors: LARGE_BYTES / sectorSize, sectorSize, ...(pageSize === undefined ? {} : { pageSize }) });

describeBlockDevice('Ramdisk 512', () => new Ramdisk({ sizeSectors: 256 }), { large: large() });
describeBlockDevice('Ramdisk 4096', () => new Ramdisk({ sizeSectors: 64, sectorSize: 4096 }), { large: large(4096) });
// Small pages so that page boundaries fall inside requests and partial pages are exercised.
describeBlockDevice('Ramdisk 512 with 4 KiB pages', () => new Ramdisk({ sizeSectors: 300, pageSize: 4096 }), { large: large(512, 4096) });
describeBlockDevice('Ramdisk 64 KiB sectors', () => new Ramdisk({ sizeSectors: 40, sectorSize: 65536 }), { large: large(65536) });

let n = 0;
describeBlockDevice('Ramdisk from the registry', async () => {
  const name = `conformance-${n++}`;
  await create(name, { sizeSectors: 128 });
  return connect(name);
});

describeBlockDevice('read-only view of a Ramdisk', () => readOnlyView(new Ramdisk({ sizeSectors: 64 })), {
  large: () => readOnlyView(large()()),
});
