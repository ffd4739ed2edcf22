import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeWithPeers, makeTempDir, run, runOk } from '@blk/test-kit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { blk, exited } from '../helpers/blk.js';
import { startServe } from '../helpers/serve.js';

const MiB = 2 ** 20;

describeWithPeers('blk serve overlay: with real NBD clients', ['nbdinfo', 'nbdcopy'], (peers) => {
  let dir: { path: string; remove(): void };
  const at = (name: string) => join(dir.path, name);
  let golden: Buffer;

  beforeAll(() => {
    dir = makeTempDir('blk-cli-overlay-');
    golden = randomBytes(8 * MiB);
    golden.fill(0, 2 * MiB, 6 * MiB);
    writeFileSync(at('golden.img'), golden);
  });
  afterAll(() => dir.remove());

  it('gives NBD clients a writable disk over a file it never writes, and keeps the changes in the top across restarts', async () => {
    const spec = `overlay:file:${at('golden.img')}+file:${at('changes.img')}`;
    const serve = await startServe([spec, '--socket', at('ov.sock')]);
    const changed = Buffer.from(golden);
    randomBytes(MiB / 2).copy(changed, 3 * MiB + 4096);
    changed.fill(0, 0, 64 * 1024 + 512);
    writeFileSync(at('changed.img'), changed);
    try {
      const uri = serve.uris[0]!;
      expect(existsSync(at('changes.img')), 'the top is created').toBe(true);
      const info = JSON.parse((await runOk(peers.nbdinfo!, ['--json', uri])).stdout) as { exports: Record<string, unknown>[] };
      expect(info.exports[0]).toMatchObject({
        'export-size': 8 * MiB,
        is_read_only: false,
        can_trim: true,
        can_zero: true,
        can_flush: true,
      });
      await runOk(peers.nbdcopy!, [uri, at('first.img')]);
      expect(readFileSync(at('first.img')).equals(golden), 'the overlay reads as the golden image').toBe(true);
      await runOk(peers.nbdcopy!, [at('changed.img'), uri]);
      await runOk(peers.nbdcopy!, [uri, at('second.img')]);
      expect(readFileSync(at('second.img')).equals(changed), 'the overlay reads the changes').toBe(true);
      serve.process.child.kill('SIGINT');
      expect((await exited(serve.process.child)).code).toBe(0);
    } finally {
      await serve.process.stop();
    }
    expect(readFileSync(at('golden.img')).equals(golden), 'the base is untouched').toBe(true);
    expect(statSync(at('changes.img')).size).toBeGreaterThan(8 * MiB);

    const again = await startServe([spec, '--socket', at('ov2.sock')]);
    try {
      await runOk(peers.nbdcopy!, [again.uris[0]!, at('third.img')]);
      expect(readFileSync(at('third.img')).equals(changed), 'the changes survive a restart').toBe(true);
      const map = (await runOk(peers.nbdinfo!, ['--map', again.uris[0]!])).stdout;
      expect(map).toMatch(/data/);
    } finally {
      again.process.child.kill('SIGTERM');
      await exited(again.process.child);
      await again.process.stop();
    }
    // blk copy reads the same disk without a server, and the base alone is still the golden image.
    expect((await blk(['copy', spec, `file:${at('copied.img')}`])).code).toBe(0);
    expect(readFileSync(at('copied.img')).equals(changed)).toBe(true);
  });

  it('--read-only serves the overlay without writing its top, and refuses a top that is something else', async () => {
    writeFileSync(at('junk.img'), Buffer.alloc(16 * MiB, 0x41));
    const refused = await blk(['info', `overlay:file:${at('golden.img')}+file:${at('junk.img')}`]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/something other than an overlay/);
    const spec = `overlay:file:${at('golden.img')}+file:${at('changes.img')}`;
    const before = readFileSync(at('changes.img'));
    const serve = await startServe([spec, '--read-only', '--socket', at('ro.sock')]);
    try {
      const uri = serve.uris[0]!;
      expect((await run(peers.nbdinfo!, ['--is', 'read-only', uri])).code).toBe(0);
      expect((await run(peers.nbdcopy!, [at('golden.img'), uri])).code).not.toBe(0);
    } finally {
      serve.process.child.kill('SIGTERM');
      await exited(serve.process.child);
      await serve.process.stop();
    }
    expect(readFileSync(at('changes.img')).equals(before)).toBe(true);
  });
});
