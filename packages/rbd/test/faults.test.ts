import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { isBlockError, type BlockErrorCode } from '@blk/core';
import { pattern } from '@blk/conformance';
import { describeWhen, findPeer, makeTempDir, rejection, runOk } from '@blk/test-kit';
import { connect, create, remove } from '../src/index.js';
import { osdOf } from './helpers/ceph-cluster.js';
import { cephDir, conf, freshDevice, imageName, imageOf, imageOptions, pool, rbdMissing, removeCreated } from './helpers/rbd-fixture.js';

const SIZE = 1 << 20;
const rbd = (...args: string[]) => runOk(findPeer('rbd') ?? 'rbd', ['-c', conf, ...args]);
const ceph = (...args: string[]) => runOk(findPeer('ceph') ?? 'ceph', ['-c', conf, ...args]);

async function expectCode(promise: Promise<unknown>, code: BlockErrorCode, message?: RegExp): Promise<Error> {
  const error = await rejection(promise);
  expect(isBlockError(error, code), String(error)).toBe(true);
  if (message) expect(error.message).toMatch(message);
  return error;
}

describeWhen('@blk/rbd faults', rbdMissing, () => {
  const temp = makeTempDir('blk-rbd-faults-');
  afterAll(async () => {
    await removeCreated();
    temp.remove();
  });

  it('a pool, image or snapshot that does not exist is INVALID_ARGUMENT naming it', async () => {
    await expectCode(connect({ ...imageOptions('x'), pool: 'no-such-pool' }), 'INVALID_ARGUMENT', /pool 'no-such-pool' does not exist/);
    await expectCode(connect(imageOptions('no-such-image')), 'INVALID_ARGUMENT', /image 'no-such-image' does not exist in pool 'rbd'/);
    const device = await freshDevice(SIZE);
    const image = imageOf(device);
    await device.disconnect();
    await expectCode(connect({ ...imageOptions(image), snapshot: 'nope' }), 'INVALID_ARGUMENT', /snapshot 'nope'/);
    await expectCode(create(imageOptions(image), { sizeBytes: SIZE }), 'INVALID_ARGUMENT', /already exists/);
    await expectCode(remove(imageOptions('no-such-image')), 'INVALID_ARGUMENT', /does not exist/);
    await expectCode(
      create({ ...imageOptions('x'), pool: 'no-such-pool' }, { sizeBytes: SIZE }),
      'INVALID_ARGUMENT',
      /pool 'no-such-pool'/,
    );
  });

  it('refuses malformed options before contacting anything', async () => {
    const base = imageOptions('x');
    await expectCode(connect({ ...base, pool: '' }), 'INVALID_ARGUMENT');
    await expectCode(connect({ ...base, image: 'a/b' }), 'INVALID_ARGUMENT');
    await expectCode(connect({ ...base, sectorSize: 1000 as 512 }), 'INVALID_ARGUMENT');
    await expectCode(connect({ ...base, timeoutSeconds: -1 }), 'INVALID_ARGUMENT');
    await expectCode(connect({ ...base, snapshot: 'a@b' }), 'INVALID_ARGUMENT');
    await expectCode(connect(null as never), 'INVALID_ARGUMENT');
    await expectCode(create(base, { sizeBytes: -1 }), 'INVALID_ARGUMENT');
    await expectCode(create(base, { sizeBytes: SIZE, objectSize: 3000 }), 'INVALID_ARGUMENT');
    const device = await freshDevice(SIZE);
    await expectCode(device.snapshot('a/b'), 'INVALID_ARGUMENT');
    await device.disconnect();
  });

  it('a cluster nobody answers for is an IO error after timeoutSeconds, not a hang', async () => {
    const dead = join(temp.path, 'dead.conf');
    // a port nothing listens on: the monitor never answers
    writeFileSync(dead, '[global]\nmon host = 127.0.0.1:9\nauth client required = none\nkeyring = /dev/null\n');
    const started = Date.now();
    await expectCode(connect({ pool, image: 'x', conf: dead, timeoutSeconds: 2 }), 'IO', /cannot connect/);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('snapshot and removeSnapshot: the snapshot keeps the old data; an image with snapshots needs purgeSnapshots', async () => {
    const device = await freshDevice(SIZE);
    const image = imageOf(device);
    await device.write(0, [pattern(0, 4, 512, 1)]);
    await device.flush();
    await device.snapshot('before');
    await device.write(0, [pattern(0, 4, 512, 2)]);
    const old = await connect({ ...imageOptions(image), snapshot: 'before' });
    const back = new Uint8Array(4 * 512);
    await old.read(0, [back]);
    expect(back).toEqual(pattern(0, 4, 512, 1));
    expect((await old.getInfo()).readWrite).toBe(false);
    await expectCode(old.snapshot('x'), 'READ_ONLY');
    await old.disconnect();
    await expectCode(device.snapshot('before'), 'INVALID_ARGUMENT');
    await device.disconnect();
    await expectCode(remove(imageOptions(image)), 'INVALID_ARGUMENT', /snapshots/);
    const again = await connect(imageOptions(image));
    await again.removeSnapshot('before');
    await again.disconnect();
    await remove(imageOptions(image));
  });

  it('an image removed under an open device (its client fenced first) gives IO errors; disconnect still resolves', async () => {
    // its own connection (other options), so fencing it leaves the other tests' connection alone
    const options = { ...imageOptions(imageName('fenced')), timeoutSeconds: 9 };
    await create(options, { sizeBytes: SIZE });
    const device = await connect(options);
    await device.write(0, [pattern(0, 1, 512)]);
    // rbd refuses while we hold the image open
    await expect(rbd('rm', '--no-progress', `${pool}/${options.image}`)).rejects.toThrow(/watchers/);
    const status = JSON.parse((await rbd('status', '--format', 'json', `${pool}/${options.image}`)).stdout) as {
      watchers: { address: string }[];
    };
    const address = status.watchers[0]!.address;
    await ceph('osd', 'blocklist', 'add', address);
    try {
      await rbd('rm', '--no-progress', `${pool}/${options.image}`);
      await expectCode(
        device.write(0, [pattern(0, 1, 512, 3)]).then(() => device.flush()),
        'IO',
      );
      await device.disconnect();
      await expectCode(device.read(0, [new Uint8Array(512)]), 'DISCONNECTED');
    } finally {
      await ceph('osd', 'blocklist', 'rm', address);
    }
  });

  it('with the OSD hung, I/O fails IO within the timeout; disconnect with I/O in flight resolves; once it answers again I/O works', async () => {
    const osd = osdOf(cephDir);
    const options = { ...imageOptions(imageName('osd')), timeoutSeconds: 3, settings: { rbd_cache: 'false' } };
    // layering only: without exclusive-lock the next client need not wait ~30 s for the lock of
    // the one whose close could not reach the OSD (its watch has to time out first)
    await create(options, { sizeBytes: SIZE, features: 1 });
    const device = await connect(options);
    await device.write(0, [pattern(0, 8, 512, 5)]);
    await device.flush();
    await osd.freeze();
    let thawed = false;
    try {
      const started = Date.now();
      // both checks attach now: librbd may time the write out before the read
      const read = expectCode(device.read(0, [new Uint8Array(8 * 512)]), 'IO', /ETIMEDOUT/);
      const write = expectCode(device.write(8, [pattern(8, 8, 512, 6)]), 'IO', /ETIMEDOUT/);
      await Promise.all([read, write]);
      expect(Date.now() - started).toBeLessThan(30_000);
      const settled = rejection(device.read(0, [new Uint8Array(512)]));
      await device.disconnect();
      expect(isBlockError(await settled, 'IO')).toBe(true);
      osd.thaw();
      thawed = true;
      const after = await connect(options);
      const back = new Uint8Array(8 * 512);
      await after.read(0, [back]);
      expect(back).toEqual(pattern(0, 8, 512, 5));
      await after.write(16, [pattern(16, 1, 512)]);
      await after.flush();
      await after.disconnect();
      // (not removed: the first client's watch lingers until it times out; the cluster is thrown away)
    } finally {
      if (!thawed) osd.thaw();
    }
  }, 60_000);
});
