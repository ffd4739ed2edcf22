// https against Debian nginx with TLS, the real-world server: a certificate made for this run
// (openssl, IP 127.0.0.1). A client that does not trust it gets a typed error, never data; one
// that does (NODE_EXTRA_CA_CERTS, read by Node at start, so in a child process) reads the image
// byte for byte over each transport that takes https: URLs.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeWithPeers, makeTempDir, runOk, startNginx, type Nginx } from '@blk/test-kit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isHttpDeviceError } from '../../src/index.js';
import { patternBytes } from '../helpers/image-source.js';
import { TRANSPORTS } from '../helpers/transports.js';

const IMAGE_BYTES = 2 * 1024 * 1024 + 512;

describeWithPeers('@blk/http over https (Debian nginx with TLS)', ['nginx', 'openssl'], (peers) => {
  let dir: { path: string; remove(): void };
  let nginx: Nginx;
  let certificate: string;
  const image = patternBytes(IMAGE_BYTES, 11);
  const url = () => `${nginx.url}/image.img`;

  beforeAll(async () => {
    dir = makeTempDir('blk-http-tls-');
    certificate = join(dir.path, 'cert.pem');
    const key = join(dir.path, 'key.pem');
    await runOk(
      peers.openssl!,
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ].concat(['-keyout', key, '-out', certificate]),
      { timeoutMs: 30_000 },
    );
    writeFileSync(join(dir.path, 'image.img'), image);
    nginx = await startNginx({ root: dir.path, dir: dir.path, tls: { certificate, key } }, peers.nginx);
  });
  afterAll(async () => {
    await nginx.stop();
    dir.remove();
  });

  it.each(TRANSPORTS)('over $name: a certificate the client does not trust is a typed error, not data', async ({ connect }) => {
    const error: unknown = await connect(url()).then(
      (device) => device.disconnect().then(() => expect.fail('connected to an untrusted server')),
      (e: unknown) => e,
    );
    expect(isHttpDeviceError(error), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/certificate/i);
  });

  it('with the certificate trusted, every transport reads the image byte for byte', async () => {
    // The child imports this package's source through tsx, as the tests do.
    const source = (file: string) => pathToFileURL(join(import.meta.dirname, '..', '..', 'src', file)).href;
    const script = join(dir.path, 'read.mts');
    writeFileSync(
      script,
      `import { createHash } from 'node:crypto';
import { connect as connectNode } from ${JSON.stringify(source('node.ts'))};
import { connect as connectFetch } from ${JSON.stringify(source('index.ts'))};
for (const [name, connect] of [['node', connectNode], ['fetch', connectFetch]]) {
  const device = await connect(process.argv[2]);
  const { sectorSize, sizeSectors } = await device.getInfo();
  const bytes = new Uint8Array(sectorSize * sizeSectors);
  await device.read(0, [bytes]);
  console.log(name, device.transport, bytes.byteLength, createHash('sha256').update(bytes).digest('hex'));
  await device.disconnect();
}
`,
    );
    const { stdout } = await runOk(process.execPath, ['--import', 'tsx', script, url()], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: certificate },
      timeoutMs: 60_000,
      cwd: import.meta.dirname,
    });
    const digest = createHash('sha256').update(image).digest('hex');
    expect(stdout.trim().split('\n')).toEqual([`node node ${IMAGE_BYTES} ${digest}`, `fetch fetch ${IMAGE_BYTES} ${digest}`]);
  }, 90_000);
});
