// `blk serve http://…`: an image on Debian's nginx exported over NBD, read-only, checked with
// nbdinfo and copied out with nbdcopy byte for byte.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPeers, makeTempDir, runOk, startNginx, type Nginx } from '@blk/test-kit';
import { blk } from '../helpers/blk.js';
import { startServe } from '../helpers/serve.js';

describeWithPeers('http:// SPECs: blk serve of an image on nginx', ['nginx', 'nbdinfo', 'nbdcopy'], (peers) => {
  let dir: { path: string; remove(): void };
  let nginx: Nginx;
  const data = randomBytes(5 * 2 ** 20 + 3 * 512);

  beforeAll(async () => {
    dir = makeTempDir('blk-cli-http-');
    mkdirSync(join(dir.path, 'www'));
    writeFileSync(join(dir.path, 'www', 'disk.img'), data);
    nginx = await startNginx({ root: join(dir.path, 'www'), dir: dir.path }, peers.nginx);
  });
  afterAll(async () => {
    await nginx.stop();
    dir.remove();
  });

  it('serves the image read-only: nbdinfo sees its size, nbdcopy copies its bytes', async () => {
    const serve = await startServe([`${nginx.url}/disk.img`, '--port', '0']);
    try {
      const uri = serve.uris[0]!;
      const size = await runOk(peers.nbdinfo!, ['--size', uri]);
      expect(Number(size.stdout.trim())).toBe(data.byteLength);
      await runOk(peers.nbdinfo!, ['--is', 'read-only', uri]);
      const out = join(dir.path, 'copy.raw');
      await runOk(peers.nbdcopy!, [uri, out]);
      expect(readFileSync(out).equals(data)).toBe(true);
    } finally {
      await serve.process.stop();
    }
  });

  it('copies the image into a file, and refuses it as a copy destination', async () => {
    const copied = await blk(['copy', '--verify', `${nginx.url}/disk.img`, `file:${join(dir.path, 'local.img')}`]);
    expect(copied.code, copied.stderr).toBe(0);
    expect(readFileSync(join(dir.path, 'local.img')).equals(data)).toBe(true);
    const refused = await blk(['copy', 'ram:1M', `${nginx.url}/disk.img`]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/read-only/i);
  });

  it('names a missing image by its status (404)', async () => {
    const missing = await blk(['info', `${nginx.url}/nope.img`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('404');
  });
});
