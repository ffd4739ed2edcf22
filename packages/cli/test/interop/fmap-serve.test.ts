import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describeWithPeers, makeTempDir, run, runOk } from '@blk/test-kit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { blk, exited } from '../helpers/blk.js';
import { startServe } from '../helpers/serve.js';

const MiB = 2 ** 20;

describeWithPeers('blk serve fmap: with real NBD clients', ['nbdinfo', 'nbdcopy'], (peers) => {
  let dir: { path: string; remove(): void };
  const at = (name: string) => join(dir.path, name);
  let payload: Buffer;

  beforeAll(() => {
    dir = makeTempDir('blk-cli-fmap-serve-');
    // 8 MiB with data in [0, 1 MiB) and [5 MiB, 5.5 MiB) only, holes elsewhere (nbdcopy sends those as zeroes)
    payload = Buffer.alloc(8 * MiB);
    randomBytes(MiB).copy(payload, 0);
    randomBytes(MiB / 2).copy(payload, 5 * MiB);
    const path = at('payload.img');
    writeFileSync(path, '');
    truncateSync(path, 8 * MiB);
    const fd = openSync(path, 'r+');
    writeSync(fd, payload, 0, MiB, 0);
    writeSync(fd, payload, 5 * MiB, MiB / 2, 5 * MiB);
    closeSync(fd);
  });
  afterAll(() => dir.remove());

  it('nbdcopy uploads and downloads byte for byte, nbdinfo --map reads the block map, SIGINT commits it all', async () => {
    const disk = at('served.fmap');
    // A disk full of 0xee first, so the zeroes nbdcopy sends must really land
    writeFileSync(at('ee.img'), Buffer.alloc(8 * MiB, 0xee));
    expect((await blk(['copy', `file:${at('ee.img')}`, `fmap:${disk}`])).code).toBe(0);
    const serve = await startServe([`fmap:${disk}`, '--socket', at('fmap.sock')]);
    try {
      const uri = serve.uris[0]!;
      expect(serve.process.output()).toContain(`blk serve: fmap:${disk} (8.00 MiB, read-write) as the default export`);
      const info = JSON.parse((await runOk(peers.nbdinfo!, ['--json', uri])).stdout) as { exports: Record<string, unknown>[] };
      expect(info.exports[0]).toMatchObject({
        'export-size': 8 * MiB,
        is_read_only: false,
        can_trim: true,
        can_zero: true,
        can_flush: true,
        can_multi_conn: true,
      });
      await runOk(peers.nbdcopy!, [at('payload.img'), uri]);
      const map = (await runOk(peers.nbdinfo!, ['--map', uri])).stdout;
      const extents = map
        .trim()
        .split('\n')
        .map((line) => line.trim().split(/\s+/))
        .map(([offset, length, type]) => ({ offset: Number(offset), length: Number(length), data: type === '0' }));
      expect(extents.filter((e) => e.data)).toEqual([
        { offset: 0, length: MiB, data: true },
        { offset: 5 * MiB, length: MiB / 2, data: true },
      ]);
      await runOk(peers.nbdcopy!, [uri, at('down.img')]);
      expect(readFileSync(at('down.img')).equals(payload)).toBe(true);
      serve.process.child.kill('SIGINT');
      expect((await exited(serve.process.child)).code).toBe(0);
    } finally {
      await serve.process.stop();
    }
    // what the server acknowledged was committed when it stopped
    expect((await blk(['copy', `fmap:${disk}`, `file:${at('after.img')}`])).code).toBe(0);
    expect(readFileSync(at('after.img')).equals(payload)).toBe(true);
  });

  it('--read-only: nbdinfo says so, nbdcopy cannot write, the file stays as it was', async () => {
    const disk = at('readonly.fmap');
    expect((await blk(['copy', `file:${at('payload.img')}`, `fmap:${disk}`])).code).toBe(0);
    const before = readFileSync(disk);
    const serve = await startServe([`fmap:${disk}`, '--read-only', '--port', '0']);
    try {
      const uri = serve.uris[0]!;
      expect((await run(peers.nbdinfo!, ['--is', 'read-only', uri])).code).toBe(0);
      writeFileSync(at('ones.img'), Buffer.alloc(8 * MiB, 1));
      expect((await run(peers.nbdcopy!, [at('ones.img'), uri])).code).not.toBe(0);
      await runOk(peers.nbdcopy!, [uri, at('ro-down.img')]);
      expect(readFileSync(at('ro-down.img')).equals(payload)).toBe(true);
      serve.process.child.kill('SIGTERM');
      expect((await exited(serve.process.child)).code).toBe(0);
    } finally {
      await serve.process.stop();
    }
    expect(readFileSync(disk).equals(before)).toBe(true);
  });
});
