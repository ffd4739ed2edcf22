// connect() options: URI plus overrides, sector size, write-through (FUA), multi-conn only when
// the server allows it, and refusals of bad options before any connection is made.
import { wrapDevice } from '@blk/conformance';
import { supports, type BlockDevice } from '@blk/core';
import { Ramdisk } from '@blk/ramdisk';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect, createServer, formatUri, listExports } from '../src/index.js';
import { exportFresh, useServer } from './helpers/server-fixture.js';

const fixture = useServer();

describe('connect options', () => {
  it('takes a URI and lets options override it (export name, sector size)', async () => {
    const name = exportFresh(fixture, new Ramdisk({ sizeSectors: 64 }));
    const device = await connect(formatUri({ path: fixture.path, exportName: 'nope' }), { exportName: name, sectorSize: 4096 });
    try {
      expect(device.exportName).toBe(name);
      expect(await device.getInfo()).toEqual({ readWrite: true, sectorSize: 4096, sizeSectors: 8 });
    } finally {
      await device.disconnect();
    }
  });

  it('writeThrough sends every write and zeroing with FUA, which makes the server flush', async () => {
    const calls: string[] = [];
    const counted = wrapDevice(new Ramdisk({ sizeSectors: 64 }), (op, _args, call) => {
      if (op === 'write' || op === 'flush' || op === 'writeZeroes') calls.push(op);
      return call();
    });
    const device = await connect({ path: fixture.path, exportName: exportFresh(fixture, counted), writeThrough: true });
    try {
      expect(device.supports.fua).toBe(true);
      await device.write(0, [new Uint8Array(512)]);
      await device.writeZeroes!(1, 1);
      expect(calls).toEqual(['write', 'flush', 'writeZeroes', 'flush']);
    } finally {
      await device.disconnect();
    }
  });

  it('opens several connections only when the export allows multi-conn', async () => {
    const inner = new Ramdisk({ sizeSectors: 64 });
    // The same device without `concurrent`: the server does not advertise CAN_MULTI_CONN.
    const single: BlockDevice = Object.assign(
      wrapDevice(inner, (_op, _args, call) => call()),
      {
        supports: supports({ ...inner.supports, concurrent: false }),
      },
    );
    const device = await connect({ path: fixture.path, exportName: exportFresh(fixture, single), connections: 4 });
    const before = fixture.server.connections;
    try {
      expect(device.supports.concurrent).toBe(false);
      expect(before).toBe(1);
    } finally {
      await device.disconnect();
    }
    const multi = await connect({ path: fixture.path, exportName: exportFresh(fixture, new Ramdisk({ sizeSectors: 64 })), connections: 4 });
    try {
      expect(fixture.server.connections).toBe(4);
      await Promise.all(Array.from({ length: 16 }, (_, i) => multi.write(i, [new Uint8Array(512).fill(i + 1)])));
      const back = new Uint8Array(16 * 512);
      await multi.read(0, [back]);
      for (let i = 0; i < 16; i++) expect(back[i * 512]).toBe(i + 1);
    } finally {
      await multi.disconnect();
    }
  });

  it('refuses bad options before connecting', async () => {
    await expect(connect('http://example.com/')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(connect({})).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(connect({ path: fixture.path, connections: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(connect({ path: fixture.path, sectorSize: 1000 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(connect({ path: '/nonexistent/blk-nbd.sock' })).rejects.toMatchObject({ code: 'IO' });
    await expect(connect({ path: fixture.path, exportName: 'x'.repeat(5000) })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('listExports', () => {
  it('lists the exports with their descriptions, as nbdinfo --list does', async () => {
    const name = exportFresh(fixture, { device: new Ramdisk({ sizeSectors: 64 }), description: 'listed disk' });
    const listing = await listExports({ path: fixture.path });
    expect(listing).toContainEqual({ name, description: 'listed disk' });
    expect(listing.map((e) => e.name)).toEqual(fixture.server.exportNames);
  });

  it('lists over TLS, and is refused without it', async () => {
    const server = createServer({ exports: { a: new Ramdisk({ sizeSectors: 64 }) }, tls: { psk: { alice: Buffer.alloc(32, 3) } } });
    const path = join(fixture.dir, 'list-tls.sock');
    await server.listen({ path });
    try {
      expect(await listExports({ path, tls: { psk: { identity: 'alice', key: Buffer.alloc(32, 3) } } })).toEqual([
        { name: 'a', description: '' },
      ]);
      await expect(listExports({ path })).rejects.toMatchObject({ code: 'UNSUPPORTED' });
    } finally {
      await server.close();
    }
  });
});

describe('TCP', () => {
  it('listens on 127.0.0.1 with a port picked by the system, and the URI it returns connects', async () => {
    const disk = new Ramdisk({ sizeSectors: 64 });
    const server = createServer({ exports: { tcp: disk } });
    const address = await server.listen({ host: '127.0.0.1', port: 0 });
    try {
      expect(address).toMatchObject({ host: '127.0.0.1' });
      const port = 'port' in address ? address.port : 0;
      expect(port).toBeGreaterThan(0);
      expect(address.uri).toBe(`nbd://127.0.0.1:${port}/`);
      const device = await connect(`nbd://127.0.0.1:${port}/tcp`);
      try {
        await device.write(1, [new Uint8Array(512).fill(8)]);
        const back = new Uint8Array(512);
        await disk.read(1, [back]);
        expect(back.every((b) => b === 8)).toBe(true);
      } finally {
        await device.disconnect();
      }
    } finally {
      await server.close();
    }
  });
});
