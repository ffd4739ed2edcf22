// TLS both ways: our server in `require` mode with PSK and x509 against nbdinfo, nbdcopy and
// qemu-img; our client against our server (PSK, x509 with client certificates) and against nbdkit
// with --tls=require --tls-psk; `on` mode allowing both; wrong keys refused without harm.
import { Ramdisk } from '@blk/ramdisk';
import { describeWithPeers, makeTempDir, run, runOk } from '@blk/test-kit';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, createServer, type NbdServer } from '../../src/index.js';
import { makeCertificates, makePskFile } from '../helpers/certificates.js';
import { firstDifference, readImage, writeTestImage } from '../helpers/images.js';
import { startNbdkit, type PeerServer } from '../helpers/peer-servers.js';
import { tapProxy } from '../helpers/tap.js';

const MiB = 1 << 20;

describeWithPeers('TLS', ['openssl'], ({ openssl }) => {
  let dir: { path: string; remove(): void };
  let pskFile: string;
  let certs: string;
  const servers: NbdServer[] = [];
  const errors: Error[] = [];
  let requireSocket: string;
  let onSocket: string;
  let disk: Ramdisk;

  beforeAll(async () => {
    dir = makeTempDir('blk-nbd-tls-');
    pskFile = makePskFile(dir.path, 'alice');
    certs = join(dir.path, 'certs');
    mkdirSync(certs);
    await makeCertificates(openssl!, certs);
    disk = new Ramdisk({ sizeSectors: 8 * 2048 });
    const required = createServer({
      exports: { '': disk },
      tls: { mode: 'require', pskFile, certificates: certs },
      onError: (e) => errors.push(e),
    });
    const optional = createServer({
      exports: { '': new Ramdisk({ sizeSectors: 2048 }) },
      tls: { mode: 'on', pskFile },
      onError: (e) => errors.push(e),
    });
    servers.push(required, optional);
    requireSocket = join(dir.path, 'require.sock');
    onSocket = join(dir.path, 'on.sock');
    await required.listen({ path: requireSocket });
    await optional.listen({ path: onSocket });
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    dir.remove();
  });

  const pskUri = (socket: string) => `nbds+unix://alice@/?socket=${socket}&tls-psk-file=${pskFile}`;

  describe('our client and our server', () => {
    it('connect over PSK in require mode, and data goes through encrypted', async () => {
      // A recognisable plaintext; the same bytes through the tap without TLS show it can see them.
      const marker = Buffer.from('blk-tls-plaintext-marker-7f3a9c');
      const data = new Uint8Array(128 << 10);
      for (let at = 0; at + marker.length <= data.length; at += marker.length) data.set(marker, at);
      const tapped = async (target: string, uri: (socket: string) => string | { path: string }, secure: boolean) => {
        const socket = join(dir.path, `tap-${secure ? 'tls' : 'plain'}.sock`);
        const tap = await tapProxy(socket, target);
        try {
          const device = await connect(uri(socket));
          try {
            expect(device.protocol.tls).toBe(secure);
            await device.write(64, [data]);
            const back = new Uint8Array(data.length);
            await device.read(64, [back]);
            expect(firstDifference(back, data)).toBe(-1);
          } finally {
            await device.disconnect();
          }
          return { up: tap.toServer(), down: tap.toClient() };
        } finally {
          await tap.close();
        }
      };
      const plain = await tapped(onSocket, (path) => ({ path }), false);
      expect(plain.up.includes(marker)).toBe(true);
      expect(plain.down.includes(marker)).toBe(true);
      const secure = await tapped(requireSocket, pskUri, true);
      // The data crossed the wire both ways (it is there, in TLS records), and never in the clear.
      expect(secure.up.length).toBeGreaterThan(data.length);
      expect(secure.down.length).toBeGreaterThan(data.length);
      expect(secure.up.includes(marker)).toBe(false);
      expect(secure.down.includes(marker)).toBe(false);
      const check = new Uint8Array(data.length);
      await disk.read(64, [check]);
      expect(firstDifference(check, data)).toBe(-1);
    });

    it('connect over x509 with the CA, and with a client certificate', async () => {
      const device = await connect({ path: requireSocket, tls: { certificates: certs } });
      try {
        expect(device.protocol.tls).toBe(true);
        expect((await device.getInfo()).sizeSectors).toBe(8 * 2048);
      } finally {
        await device.disconnect();
      }
    });

    it('a client certificate is demanded and checked with verifyPeer', async () => {
      const strict = createServer({
        exports: { '': new Ramdisk({ sizeSectors: 64 }) },
        tls: { certificates: certs, verifyPeer: true },
        onError: () => undefined,
      });
      const path = join(dir.path, 'strict.sock');
      await strict.listen({ path });
      try {
        const withCert = await connect({ path, tls: { certificates: certs } });
        await withCert.disconnect();
        const noCertDir = join(dir.path, 'ca-only');
        mkdirSync(noCertDir, { recursive: true });
        copyFileSync(join(certs, 'ca-cert.pem'), join(noCertDir, 'ca-cert.pem'));
        await expect(connect({ path, tls: { certificates: noCertDir }, handshakeTimeoutMs: 5000 })).rejects.toMatchObject({ code: 'IO' });
      } finally {
        await strict.close();
      }
    });

    it('refuses a plaintext client in require mode with ERR_TLS_REQD, and a wrong key', async () => {
      await expect(connect({ path: requireSocket })).rejects.toThrow(/TLS_REQD/);
      const wrong = makePskFile(dir.path, 'alice', 'wrong.psk');
      await expect(
        connect({ path: requireSocket, tls: { pskFile: wrong, username: 'alice' }, handshakeTimeoutMs: 5000 }),
      ).rejects.toMatchObject({ code: 'IO' });
      const unknown = makePskFile(dir.path, 'mallory', 'mallory.psk');
      await expect(
        connect({ path: requireSocket, tls: { pskFile: unknown, username: 'mallory' }, handshakeTimeoutMs: 5000 }),
      ).rejects.toMatchObject({ code: 'IO' });
      // The server is still fine.
      const device = await connect(pskUri(requireSocket));
      await device.disconnect();
    });

    it('mode on serves both plaintext and TLS clients', async () => {
      const plain = await connect({ path: onSocket });
      const secure = await connect(pskUri(onSocket));
      expect([plain.protocol.tls, secure.protocol.tls]).toEqual([false, true]);
      await Promise.all([plain.disconnect(), secure.disconnect()]);
    });

    it('a server without TLS answers STARTTLS with ERR_UNSUP, which our client reports as UNSUPPORTED', async () => {
      const plainServer = createServer({ exports: { '': new Ramdisk({ sizeSectors: 64 }) } });
      const path = join(dir.path, 'plain.sock');
      await plainServer.listen({ path });
      try {
        await expect(connect(pskUri(path))).rejects.toMatchObject({ code: 'UNSUPPORTED' });
      } finally {
        await plainServer.close();
      }
    });
  });

  describeWithPeers('libnbd tools with TLS', ['nbdinfo', 'nbdcopy'], ({ nbdinfo, nbdcopy }) => {
    it('nbdinfo connects with PSK and sees TLS', async () => {
      const { stdout } = await runOk(nbdinfo!, [pskUri(requireSocket)]);
      expect(stdout).toContain('newstyle-fixed with TLS');
      expect(stdout).toContain('export-size: 8388608');
    });

    it('nbdinfo connects with x509 (tls-certificates)', async () => {
      const { stdout } = await runOk(nbdinfo!, [`nbds+unix:///?socket=${requireSocket}&tls-certificates=${certs}`]);
      expect(stdout).toContain('newstyle-fixed with TLS');
    });

    it('plaintext nbdinfo is refused at GO with a TLS-required error', async () => {
      const result = await run(nbdinfo!, [`nbd+unix:///?socket=${requireSocket}`]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('opt_go');
    });

    it('nbdcopy copies in and out over PSK byte for byte', async () => {
      const input = join(dir.path, 'tls-in.img');
      const output = join(dir.path, 'tls-out.img');
      const image = writeTestImage(input, 8);
      await runOk(nbdcopy!, [input, pskUri(requireSocket)]);
      await runOk(nbdcopy!, [pskUri(requireSocket), output]);
      expect(firstDifference(readImage(output), image)).toBe(-1);
    });
  });

  describeWithPeers('qemu-img with TLS', ['qemu-img'], ({ 'qemu-img': qemuImg }) => {
    it('connects with tls-creds-psk', async () => {
      const keys = join(dir.path, 'qemu-psk');
      mkdirSync(keys, { recursive: true });
      copyFileSync(pskFile, join(keys, 'keys.psk'));
      const { stdout } = await runOk(qemuImg!, [
        'info',
        '--output=json',
        '--object',
        `tls-creds-psk,id=tls0,dir=${keys},username=alice,endpoint=client`,
        '--image-opts',
        `driver=nbd,path=${requireSocket},tls-creds=tls0`,
      ]);
      expect(JSON.parse(stdout)).toMatchObject({ 'virtual-size': 8 * MiB });
    });

    it('connects with tls-creds-x509', async () => {
      const { stdout } = await runOk(qemuImg!, [
        'info',
        '--output=json',
        '--object',
        `tls-creds-x509,id=tls0,dir=${certs},endpoint=client`,
        '--image-opts',
        `driver=nbd,path=${requireSocket},tls-creds=tls0,tls-hostname=localhost`,
      ]);
      expect(JSON.parse(stdout)).toMatchObject({ 'virtual-size': 8 * MiB });
    });
  });

  describeWithPeers('our client against nbdkit with TLS', ['nbdkit'], ({ nbdkit }) => {
    let server: PeerServer;
    beforeAll(async () => {
      server = await startNbdkit(nbdkit!, dir.path, ['--tls=require', `--tls-psk=${pskFile}`, 'memory', '4M']);
    });
    afterAll(async () => {
      await server.stop();
    });

    it('connects over PSK and round-trips data', async () => {
      const device = await connect(`nbds+unix://alice@/?socket=${server.path}&tls-psk-file=${pskFile}`);
      try {
        expect(device.protocol).toMatchObject({ tls: true, structuredReplies: true, blockStatus: true });
        const data = new Uint8Array(1 << 20).fill(9);
        await device.write(2048, [data]);
        const back = new Uint8Array(data.length);
        await device.read(2048, [back]);
        expect(firstDifference(back, data)).toBe(-1);
      } finally {
        await device.disconnect();
      }
    });

    it('without TLS, nbdkit refuses and our client says so', async () => {
      await expect(connect({ path: server.path })).rejects.toThrow(/TLS_REQD/);
    });
  });

  describe('the TLS servers', () => {
    it('reported only the expected handshake failures', () => {
      for (const error of errors) expect(error.message).toMatch(/TLS|SSL|handshake|closed|ECONNRESET|socket/i);
    });
  });
});
