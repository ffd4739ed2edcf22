import { afterAll } from 'vitest';
import { describeBlockDevice } from '@blk/conformance';
import { describeWhen } from '@blk/test-kit';
import { connect } from '../src/index.js';
import { freshDevice, imageOf, imageOptions, removeCreated, rbdMissing } from './helpers/rbd-fixture.js';

const SIZE = 256 * 1024;

describeWhen('@blk/rbd on a test cluster', rbdMissing, () => {
  afterAll(removeCreated, 180_000);

  describeBlockDevice('RbdDevice (512-byte sectors)', () => freshDevice(SIZE), {
    modelRuns: 10,
    reopen: (device) => connect(imageOptions(imageOf(device))),
  });

  describeBlockDevice('RbdDevice (4096-byte sectors)', () => freshDevice(SIZE, { sectorSize: 4096 }), {
    modelRuns: 5,
    reopen: (device) => connect({ ...imageOptions(imageOf(device)), sectorSize: 4096 }),
  });

  describeBlockDevice(
    'RbdDevice of a snapshot (read-only)',
    async () => {
      const device = await freshDevice(SIZE);
      await device.snapshot('s');
      await device.disconnect();
      return connect({ ...imageOptions(imageOf(device)), snapshot: 's' });
    },
    { modelRuns: 5 },
  );
});
