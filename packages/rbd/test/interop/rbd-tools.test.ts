import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { extents } from '@blk/core';
import { expectSameBytes, pattern } from '@blk/conformance';
import { describeWhen, findPeer, itWhen, makeTempDir, runOk } from '@blk/test-kit';
import { connect } from '../../src/index.js';
import { conf, freshDevice, imageName, imageOf, imageOptions, pool, rbdMissing, removeCreated } from '../helpers/rbd-fixture.js';

const SIZE = 2 << 20;
/** Where Debian's qemu-block-extra puts qemu's rbd block driver. */
const QEMU_RBD = '/usr/lib/x86_64-linux-gnu/qemu/block-rbd.so';
const rbd = (...args: string[]) => runOk(findPeer('rbd') ?? 'rbd', ['-c', conf, ...args]);

describeWhen('@blk/rbd against the rbd tool', rbdMissing, () => {
  const temp = makeTempDir('blk-rbd-interop-');
  afterAll(async () => {
    await removeCreated();
    temp.remove();
  });

  /** Writes a few runs (one crossing an object boundary, one scatter-gathered) and returns the expected image. */
  async function writeRuns(device: Awaited<ReturnType<typeof freshDevice>>): Promise<Uint8Array> {
    const expected = new Uint8Array(SIZE);
    const runs: [number, number][] = [
      [0, 8],
      [100, 1],
      [(1 << 20) / 512 - 3, 7],
      [SIZE / 512 - 16, 16],
    ];
    for (const [sector, count] of runs) {
      const data = pattern(sector, count, 512, 7);
      const half = Math.ceil(count / 2) * 512;
      await device.write(sector, [data.subarray(0, half), data.subarray(half)]);
      expected.set(data, sector * 512);
    }
    await device.flush();
    return expected;
  }

  it('what we write, rbd export reads back byte for byte', async () => {
    const device = await freshDevice(SIZE, {}, 1 << 20);
    const expected = await writeRuns(device);
    const image = imageOf(device);
    await device.disconnect();
    const file = join(temp.path, 'export.img');
    await rbd('export', `${pool}/${image}`, file);
    expectSameBytes(new Uint8Array(readFileSync(file)), expected, 'rbd export');
  });

  it('what rbd import writes, we read back byte for byte', async () => {
    const source = new Uint8Array(SIZE);
    source.set(pattern(0, 64, 512, 3), 4096);
    source.set(pattern(0, 200, 512, 4), SIZE - 200 * 512);
    const file = join(temp.path, 'import.img');
    writeFileSync(file, source);
    const image = imageName('import');
    await rbd('import', file, `${pool}/${image}`);
    const device = await connect(imageOptions(image));
    try {
      const info = await device.getInfo();
      expect(info.sizeSectors * info.sectorSize).toBe(SIZE);
      const back = new Uint8Array(SIZE);
      await device.read(0, [back]);
      expectSameBytes(back, source, 'read after rbd import');
    } finally {
      await device.disconnect();
      await rbd('rm', '--no-progress', `${pool}/${image}`);
    }
  });

  it('what rbd bench writes, we read as rbd export does', async () => {
    const device = await freshDevice(SIZE);
    const image = imageOf(device);
    await device.disconnect();
    await rbd('bench', '--io-type', 'write', '--io-size', '4K', '--io-total', '256K', '--io-pattern', 'rand', `${pool}/${image}`);
    const file = join(temp.path, 'bench.img');
    await rbd('export', '--no-progress', `${pool}/${image}`, file);
    const reopened = await connect(imageOptions(image));
    try {
      const back = new Uint8Array(SIZE);
      await reopened.read(0, [back]);
      expectSameBytes(back, new Uint8Array(readFileSync(file)), 'read after rbd bench');
    } finally {
      await reopened.disconnect();
    }
  });

  it('rbd diff agrees with our extents, also after writeZeroes', async () => {
    const device = await freshDevice(SIZE, {}, 1 << 20);
    await writeRuns(device);
    await device.writeZeroes(0, 8);
    await device.flush();
    const ours: [number, number][] = [];
    for await (const extent of extents(device)) if (extent.mapped) ours.push([extent.sector * 512, extent.count * 512]);
    const image = imageOf(device);
    const listed = JSON.parse((await rbd('diff', '--format', 'json', `${pool}/${image}`)).stdout) as {
      offset: number;
      length: number;
      exists: string;
    }[];
    const theirs: [number, number][] = [];
    for (const { offset, length, exists } of listed) {
      if (exists !== 'true') continue;
      const last = theirs.at(-1);
      if (last && last[0] + last[1] === offset) last[1] += length;
      else theirs.push([offset, length]);
    }
    expect(ours).toEqual(theirs);
    expect(ours.length).toBeGreaterThanOrEqual(1);
    const zeroed = new Uint8Array(8 * 512).fill(1);
    await device.read(0, [zeroed]);
    expect(zeroed.every((byte) => byte === 0)).toBe(true);
    await device.disconnect();
  });

  it('objects never written are unmapped for both', async () => {
    const device = await freshDevice(4 << 20, {}, 1 << 20);
    const { sizeSectors } = await device.getInfo();
    await device.write(0, [pattern(0, 1, 512)]);
    await device.write(sizeSectors - 1, [pattern(sizeSectors - 1, 1, 512)]);
    const ours: [number, number][] = [];
    for await (const extent of extents(device)) if (extent.mapped) ours.push([extent.sector, extent.sector + extent.count]);
    expect(ours.length).toBe(2);
    expect(ours[0]![0]).toBe(0);
    expect(ours[1]![1]).toBe(sizeSectors);
    expect(ours[0]![1]).toBeLessThanOrEqual((1 << 20) / 512);
    expect(ours[1]![0]).toBeGreaterThanOrEqual((3 << 20) / 512);
    await device.disconnect();
  });

  // qemu's rbd block driver (Debian's qemu-block-extra) as a second, independent reader and writer.
  const qemuImg = findPeer('qemu-img');
  const qemuMissing =
    qemuImg === undefined
      ? 'needs qemu-img (qemu-utils)'
      : existsSync(QEMU_RBD)
        ? undefined
        : `needs ${QEMU_RBD} (apt-get install qemu-block-extra)`;
  const qemuIt = itWhen(qemuMissing);
  const qemuName = (image: string) => `rbd:${pool}/${image}:conf=${conf}`;

  qemuIt('qemu-img compare agrees that an image we wrote equals its source, and sees one changed byte', async () => {
    const device = await freshDevice(SIZE, {}, 1 << 20);
    const expected = await writeRuns(device);
    const image = imageOf(device);
    await device.disconnect();
    const file = join(temp.path, 'qemu-source.img');
    writeFileSync(file, expected);
    await runOk(qemuImg!, ['compare', '-f', 'raw', '-F', 'raw', file, qemuName(image)], { timeoutMs: 60_000 });
    expected[SIZE - 1] = expected[SIZE - 1]! ^ 0xff;
    writeFileSync(file, expected);
    await expect(
      runOk(qemuImg!, ['compare', '-q', '-f', 'raw', '-F', 'raw', file, qemuName(image)], { timeoutMs: 60_000 }),
    ).rejects.toThrow();
  });

  qemuIt('what qemu-img convert writes into an image, we read back byte for byte', async () => {
    const device = await freshDevice(SIZE);
    const image = imageOf(device);
    await device.disconnect();
    const source = new Uint8Array(SIZE);
    source.set(pattern(0, 32, 512, 9), 512 * 1000);
    source.set(pattern(0, 8, 512, 10), SIZE - 8 * 512);
    const file = join(temp.path, 'qemu-convert.img');
    writeFileSync(file, source);
    await runOk(qemuImg!, ['convert', '-n', '-f', 'raw', '-O', 'raw', file, qemuName(image)], { timeoutMs: 60_000 });
    const reopened = await connect(imageOptions(image));
    try {
      const back = new Uint8Array(SIZE);
      await reopened.read(0, [back]);
      expectSameBytes(back, source, 'read after qemu-img convert');
    } finally {
      await reopened.disconnect();
    }
  });
});
