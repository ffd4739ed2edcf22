// Our client against nbdkit: the conformance suite over `nbdkit memory` (a fresh nbdkit per device,
// gone when the device disconnects thanks to the exitlast filter), over `--no-sr` (simple replies)
// and `--mask-handshake=0` (plain newstyle, EXPORT_NAME), plus the error and delay filters.
import { isBlockError } from '@blk/core';
import { describeBlockDevice } from '@blk/conformance';
import { describeWithPeers, makeTempDir } from '@blk/test-kit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NbdDevice } from '../../src/index.js';
import { startNbdkit, type PeerServer } from '../helpers/peer-servers.js';

describeWithPeers('our client against nbdkit', ['nbdkit'], ({ nbdkit }) => {
  let dir: { path: string; remove(): void };
  const servers: PeerServer[] = [];
  beforeAll(() => {
    dir = makeTempDir('blk-nbdkit-');
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    dir.remove();
  });

  /** A fresh `nbdkit memory` that exits when its last client leaves. */
  async function fresh(args: readonly string[], options: Parameters<typeof connect>[1] = {}): Promise<NbdDevice> {
    const server = await startNbdkit(nbdkit!, dir.path, ['--filter=exitlast', ...args]);
    servers.push(server);
    return connect({ path: server.path, ...options });
  }

  // The large device is a sparse 5 GiB nbdkit memory disk: one request past nbdkit's 32 MiB payload maximum, across 4 GiB.
  describeBlockDevice('NbdDevice over nbdkit memory', () => fresh(['memory', '128K']), {
    modelRuns: 10,
    large: () => fresh(['memory', '5G']),
  });
  describeBlockDevice('NbdDevice over nbdkit --no-sr (simple replies)', () => fresh(['--no-sr', 'memory', '128K']), { modelRuns: 5 });
  describeBlockDevice(
    'NbdDevice over nbdkit --mask-handshake=0 (oldest newstyle, EXPORT_NAME)',
    () => fresh(['--mask-handshake=0', 'memory', '128K']),
    {
      modelRuns: 5,
    },
  );

  describe('negotiation details', () => {
    const devices: NbdDevice[] = [];
    afterEach(async () => {
      await Promise.all(devices.splice(0).map((d) => d.disconnect()));
    });

    it('uses GO, structured replies and base:allocation with nbdkit memory', async () => {
      const device = await fresh(['memory', '1M']);
      devices.push(device);
      expect(device.protocol).toMatchObject({ structuredReplies: true, blockStatus: true, via: 'GO', tls: false });
      expect(device.supports).toMatchObject({ write: true, flush: true, discard: true, writeZeroes: true, seek: true, concurrent: true });
      expect(await device.getInfo()).toEqual({ readWrite: true, sectorSize: 512, sizeSectors: 2048 });
    });

    it('falls back to simple replies and no seeking with --no-sr', async () => {
      const device = await fresh(['--no-sr', 'memory', '1M']);
      devices.push(device);
      expect(device.protocol).toMatchObject({ structuredReplies: false, blockStatus: false, via: 'GO' });
      expect(device.supports.seek).toBe(false);
      expect(device.seekMapped).toBeUndefined();
    });

    it('falls back to EXPORT_NAME against a server that is not fixed-newstyle', async () => {
      const device = await fresh(['--mask-handshake=0', 'memory', '1M']);
      devices.push(device);
      expect(device.protocol.via).toBe('EXPORT_NAME');
      const data = new Uint8Array(4096).fill(0x5c);
      await device.write(8, [data]);
      const back = new Uint8Array(4096);
      await device.read(8, [back]);
      expect(Buffer.compare(back, data)).toBe(0);
    });

    it('sees a read-only nbdkit export as read-only (-r)', async () => {
      const device = await fresh(['-r', 'memory', '1M']);
      devices.push(device);
      expect(device.supports.write).toBe(false);
      expect((await device.getInfo()).readWrite).toBe(false);
      await expect(device.write(0, [new Uint8Array(512)])).rejects.toMatchObject({ code: 'READ_ONLY' });
    });

    it('obeys a server minimum block size of 4096 (blocksize-policy filter)', async () => {
      const device = await fresh([
        '--filter=blocksize-policy',
        'memory',
        '1M',
        'blocksize-minimum=4096',
        'blocksize-preferred=4096',
        'blocksize-maximum=65536',
        'blocksize-error-policy=error',
      ]);
      devices.push(device);
      expect(device.blockSizes).toEqual({ minimum: 4096, preferred: 4096, maximum: 65536 });
      expect((await device.getInfo()).sectorSize).toBe(4096);
      // 256 KiB goes out as four 64 KiB requests, and comes back intact.
      const data = Buffer.alloc(256 << 10);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
      await device.write(1, [data]);
      const back = Buffer.alloc(data.length);
      await device.read(1, [back]);
      expect(Buffer.compare(back, data)).toBe(0);
    });
  });

  describe('error and delay filters', () => {
    it('maps injected EIO and ENOSPC to IO errors with the server errno, and keeps working', async () => {
      const device = await fresh([
        '--filter=error',
        'memory',
        '1M',
        'error-pread=EIO',
        'error-pread-rate=100%',
        'error-pwrite=ENOSPC',
        'error-pwrite-rate=100%',
      ]);
      try {
        const read = device.read(0, [new Uint8Array(512)]);
        await expect(read).rejects.toMatchObject({ code: 'IO' });
        const error: unknown = await read.catch((e: unknown) => e);
        expect(isBlockError(error) && (error.cause as { errno?: number }).errno).toBe(5);
        const write: unknown = await device.write(0, [new Uint8Array(512)]).catch((e: unknown) => e);
        expect(isBlockError(write, 'IO') && (write.cause as { errno?: number }).errno).toBe(28);
        // The connection survives errors: flush still works.
        await device.flush!();
      } finally {
        await device.disconnect();
      }
    });

    it('fails a request that gets no reply within requestTimeoutMs, and then the whole device', async () => {
      const device = await fresh(['--filter=delay', 'memory', '1M', 'delay-read=5'], { requestTimeoutMs: 300 });
      try {
        await expect(device.read(0, [new Uint8Array(512)])).rejects.toThrow(/within 300 ms/);
        await expect(device.read(0, [new Uint8Array(512)])).rejects.toMatchObject({ code: 'IO' });
      } finally {
        await device.disconnect();
      }
    });

    it('waits for slow replies within the timeout (delay-write)', async () => {
      const device = await fresh(['--filter=delay', 'memory', '1M', 'delay-write=200ms'], { requestTimeoutMs: 5000 });
      try {
        const data = new Uint8Array(1024).fill(3);
        await Promise.all([device.write(0, [data]), device.write(2, [data]), device.write(4, [data])]);
        const back = new Uint8Array(3072);
        await device.read(0, [back]);
        expect(back.every((b) => b === 3)).toBe(true);
      } finally {
        await device.disconnect();
      }
    });
  });
});
