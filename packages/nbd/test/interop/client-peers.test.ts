// Our client against the other servers: nbd-server 3.24 (simple replies only, and an INFO that
// reports size 0) started inetd-style per connection, and qemu-nbd (named export, read-only, TLS).
import { describeBlockDevice } from '@blk/conformance';
import { describeWithPeers, makeTempDir } from '@blk/test-kit';
import { copyFileSync, mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, listExports } from '../../src/index.js';
import { makePskFile } from '../helpers/certificates.js';
import { startInetd, startQemuNbd, type PeerServer } from '../helpers/peer-servers.js';

const DEVICE_BYTES = 128 << 10;

function freshFile(dir: string, name: string, bytes = DEVICE_BYTES): string {
  const path = join(dir, name);
  writeFileSync(path, '');
  truncateSync(path, bytes);
  return path;
}

describeWithPeers('our client against nbd-server', ['nbd-server'], ({ 'nbd-server': nbdServer }) => {
  let dir: { path: string; remove(): void };
  let server: PeerServer;
  let readOnly: PeerServer;
  beforeAll(async () => {
    dir = makeTempDir('blk-nbd-server-');
    // One nbd-server per connection, each on a fresh zeroed file, as libnbd's interop tests run it.
    // (It takes a few hundred ms to start, so this runs targeted checks, not the whole suite.)
    server = await startInetd(dir.path, nbdServer!, (n) => ['-d', '-C', '/dev/null', '0', freshFile(dir.path, `disk-${n}.img`)]);
    readOnly = await startInetd(dir.path, nbdServer!, (n) => ['-d', '-C', '/dev/null', '-r', '0', freshFile(dir.path, `ro-${n}.img`)]);
  });
  afterAll(async () => {
    await Promise.all([server.stop(), readOnly.stop()]);
    dir.remove();
  });

  it('gets the true size from GO although nbd-server answers INFO with size 0, and falls back to simple replies', async () => {
    const device = await connect({ path: server.path });
    try {
      expect(await device.getInfo()).toEqual({ readWrite: true, sectorSize: 512, sizeSectors: DEVICE_BYTES / 512 });
      expect(device.protocol).toMatchObject({ structuredReplies: false, blockStatus: false, via: 'GO' });
      expect(device.supports).toMatchObject({ write: true, seek: false });
      expect(device.seekMapped).toBeUndefined();
    } finally {
      await device.disconnect();
    }
  });

  it('reads, writes (scatter-gather, split, concurrent), flushes, trims and zeroes', async () => {
    const device = await connect({ path: server.path });
    try {
      const a = new Uint8Array(4096).fill(1);
      const b = new Uint8Array(512).fill(2);
      await Promise.all([device.write(0, [a, b]), device.write(100, [new Uint8Array(64 << 10).fill(3)])]);
      const back = new Uint8Array(4608);
      await device.read(0, [back]);
      expect(back.subarray(0, 4096).every((x) => x === 1) && back.subarray(4096).every((x) => x === 2)).toBe(true);
      if (device.flush) await device.flush();
      if (device.writeZeroes) {
        await device.writeZeroes(100, 16);
        const zeroed = new Uint8Array(16 * 512);
        await device.read(100, [zeroed]);
        expect(zeroed.every((x) => x === 0)).toBe(true);
      }
      if (device.discard) await device.discard(0, 8);
      const tail = new Uint8Array(512);
      await device.read(255, [tail]);
      expect(tail.every((x) => x === 0)).toBe(true);
    } finally {
      await device.disconnect();
    }
  });

  it('sees a read-only export (-r) as read-only and refuses writes locally', async () => {
    const device = await connect({ path: readOnly.path });
    try {
      expect((await device.getInfo()).readWrite).toBe(false);
      await expect(device.write(0, [new Uint8Array(512)])).rejects.toMatchObject({ code: 'READ_ONLY' });
      const data = new Uint8Array(1024);
      await device.read(0, [data]);
    } finally {
      await device.disconnect();
    }
  });
});

describeWithPeers('our client against qemu-nbd', ['qemu-nbd'], ({ 'qemu-nbd': qemuNbd }) => {
  let dir: { path: string; remove(): void };
  const servers: PeerServer[] = [];
  let n = 0;
  beforeAll(() => {
    dir = makeTempDir('blk-qemu-nbd-');
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    dir.remove();
  });

  /** A qemu-nbd that serves one client a fresh raw file under the export name `disk`, then exits. */
  async function fresh(args: readonly string[] = []) {
    const server = await startQemuNbd(qemuNbd!, dir.path, ['-f', 'raw', '-x', 'disk', ...args, freshFile(dir.path, `q-${++n}.img`)]);
    servers.push(server);
    return server;
  }

  describeBlockDevice('NbdDevice over qemu-nbd (named export)', async () => connect({ path: (await fresh()).path, exportName: 'disk' }), {
    modelRuns: 5,
  });

  describe('negotiation', () => {
    it('uses GO, structured replies, base:allocation and the advertised block sizes', async () => {
      const device = await connect({ path: (await fresh()).path, exportName: 'disk' });
      try {
        expect(device.protocol).toMatchObject({ structuredReplies: true, blockStatus: true, via: 'GO' });
        expect(device.blockSizes?.preferred).toBe(4096);
        expect(device.supports).toMatchObject({ write: true, seek: true, flush: true });
      } finally {
        await device.disconnect();
      }
    });

    it('sees qemu-nbd -r as read-only', async () => {
      const device = await connect({ path: (await fresh(['-r'])).path, exportName: 'disk' });
      try {
        expect(device.supports).toMatchObject({ write: false, discard: false, writeZeroes: false });
        await expect(device.write(0, [new Uint8Array(512)])).rejects.toMatchObject({ code: 'READ_ONLY' });
      } finally {
        await device.disconnect();
      }
    });

    it('lists the named export (NBD_OPT_LIST)', async () => {
      const server = await fresh(['--persistent', '-D', 'a qemu disk']);
      expect(await listExports({ path: server.path })).toEqual([{ name: 'disk', description: 'a qemu disk' }]);
    });

    it('reports an unknown export name as INVALID_ARGUMENT', async () => {
      await expect(connect({ path: (await fresh(['--persistent'])).path, exportName: 'nope' })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    });

    it('connects over TLS with a PSK (tls-creds-psk on the server)', async () => {
      const keys = join(dir.path, 'psk');
      mkdirSync(keys, { recursive: true });
      const pskFile = makePskFile(dir.path, 'alice');
      copyFileSync(pskFile, join(keys, 'keys.psk'));
      const server = await fresh(['--object', `tls-creds-psk,id=tls0,endpoint=server,dir=${keys}`, '--tls-creds', 'tls0']);
      const device = await connect(`nbds+unix://alice@/disk?socket=${server.path}&tls-psk-file=${pskFile}`);
      try {
        expect(device.protocol.tls).toBe(true);
        const data = new Uint8Array(64 << 10).fill(0x6b);
        await device.write(16, [data]);
        const back = new Uint8Array(data.length);
        await device.read(16, [back]);
        expect(Buffer.compare(back, data)).toBe(0);
      } finally {
        await device.disconnect();
      }
    });
  });
});
