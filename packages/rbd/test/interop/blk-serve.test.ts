import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { expectSameBytes, pattern } from '@blk/conformance';
import { describeWhen, findPeer, makeTempDir, runOk, startProcess, waitFor } from '@blk/test-kit';
import { conf, freshDevice, imageName, imageOf, pool, rbdMissing, removeCreated } from '../helpers/rbd-fixture.js';

// The `blk` command of this repository (packages/cli, built by `pnpm build`), not a dependency:
// @blk/cli depends on @blk/rbd.
const BLK = fileURLToPath(new URL('../../../cli/dist/bin.js', import.meta.url));
const MiB = 1 << 20;
const programs = ['nbdinfo', 'nbdcopy'].filter((program) => !findPeer(program));
const missing =
  rbdMissing ??
  (!existsSync(BLK) ? `${BLK} is not built (pnpm build)` : programs.length > 0 ? `needs ${programs.join(', ')} (libnbd-bin)` : undefined);

describeWhen('blk serve rbd: with libnbd clients', missing, () => {
  const temp = makeTempDir('blk-rbd-serve-');
  afterAll(async () => {
    await removeCreated();
    temp.remove();
  });

  it('nbdinfo --map shows the allocation and nbdcopy reads the bytes back', async () => {
    const device = await freshDevice(4 * MiB, {}, MiB);
    const expected = new Uint8Array(4 * MiB);
    for (const sector of [0, (3 * MiB) / 512]) {
      const data = pattern(sector, 8, 512, 9);
      await device.write(sector, [data]);
      expected.set(data, sector * 512);
    }
    await device.flush();
    const image = imageOf(device);
    await device.disconnect();
    const socket = join(temp.path, 'nbd.sock');
    const server = startProcess(process.execPath, [BLK, 'serve', `rbd:${pool}/${image}?conf=${conf}`, '--socket', socket]);
    try {
      await waitFor(
        () => server.output().includes('Press Ctrl-C to stop.') || server.child.exitCode !== null,
        'blk serve to be ready',
        20_000,
      );
      expect(server.child.exitCode, server.output()).toBe(null);
      const uri = `nbd+unix:///?socket=${socket}`;
      const map = JSON.parse((await runOk(findPeer('nbdinfo') ?? 'nbdinfo', ['--map', '--json', uri])).stdout) as {
        offset: number;
        length: number;
        type: number;
      }[];
      // type bit 0: hole. Data where we wrote (or its whole object), a hole in the object between.
      const covers = (hole: boolean, offset: number) =>
        map.some((entry) => (entry.type & 1) === (hole ? 1 : 0) && entry.offset <= offset && entry.offset + entry.length > offset);
      expect(covers(false, 0)).toBe(true);
      expect(covers(false, 3 * MiB)).toBe(true);
      expect(map.some((entry) => (entry.type & 1) === 1 && entry.offset <= 2 * MiB && entry.offset + entry.length >= 2 * MiB)).toBe(true);
      const file = join(temp.path, 'copy.img');
      await runOk(findPeer('nbdcopy') ?? 'nbdcopy', [uri, file]);
      expectSameBytes(new Uint8Array(readFileSync(file)), expected, 'nbdcopy of blk serve rbd:');
    } finally {
      await server.stop();
    }
  });

  it('blk copy file: rbd: creates the image with the source size; rbd export gives the file back', async () => {
    const source = new Uint8Array(2 * MiB);
    source.set(pattern(0, 16, 512, 11), 64 * 1024);
    const file = join(temp.path, 'source.img');
    writeFileSync(file, source);
    const image = imageName('copy');
    const copied = await runOk(process.execPath, [BLK, 'copy', `file:${file}`, `rbd:${pool}/${image}?conf=${conf}`, '--quiet']);
    expect(copied.code).toBe(0);
    const exported = join(temp.path, 'exported.img');
    await runOk(findPeer('rbd') ?? 'rbd', ['-c', conf, 'export', '--no-progress', `${pool}/${image}`, exported]);
    expectSameBytes(new Uint8Array(readFileSync(exported)), source, 'rbd export after blk copy');
    await runOk(findPeer('rbd') ?? 'rbd', ['-c', conf, 'rm', '--no-progress', `${pool}/${image}`]);
  });
});
