import { pattern } from '@blk/conformance';
import { Ramdisk } from '@blk/ramdisk';
import { describeWithPeers, makeTempDir, runOk } from '@blk/test-kit';
import { connect, createServer, type Client, type Server } from '@blk/xenstore';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Blkfront, SharedDomain, createVbd, removeVbd, serveBlkback, type XenbusStore } from '../../src/index.js';
import { connectWorker } from '../../dist/index.js';

// The handshake for real: @blk/xenstore's server, its clients as the toolstack and the backend
// (dom0) and the frontend (an unprivileged domain 1, subject to the permissions createVbd sets).

let dir: { path: string; remove(): void };
let server: Server;
let socket: string;
const clients: Client[] = [];

async function client(domid?: number): Promise<Client> {
  const c = domid === undefined ? await connect({ path: socket }) : await connect({ stream: server.connectAs(domid) });
  clients.push(c);
  return c;
}

beforeEach(async () => {
  dir = makeTempDir('xr-');
  socket = join(dir.path, 'xs.sock');
  server = await createServer().listen(socket);
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await server.close();
  dir.remove();
});

const value = (path: string) => {
  const node = server.node(path);
  return node === undefined ? undefined : Buffer.from(node.value).toString();
};

describe('handshake through @blk/xenstore', () => {
  it('connects an unprivileged frontend to a dom0 backend, serves I/O, and closes both sides', async () => {
    const toolstack: XenbusStore = await client();
    const vbd = await createVbd(toolstack, { frontendDomid: 1, backendDomid: 0 });
    const domain = SharedDomain.create({ domid: 1, frames: 2048 });
    const disk = new Ramdisk({ sizeSectors: 2048 });
    const service = serveBlkback({ store: await client(), backendPath: vbd.backendPath, device: disk, domains: () => domain });
    const front = await Blkfront.connect({ store: await client(1), domain, timeoutMs: 10_000 });
    expect(value(`${vbd.frontendPath}/state`)).toBe('4');
    expect(value(`${vbd.backendPath}/state`)).toBe('4');
    expect(value(`${vbd.backendPath}/feature-persistent`)).toBe('1');
    expect(value(`${vbd.frontendPath}/protocol`)).toBe('x86_64-abi');
    expect(server.node(vbd.frontendPath)?.permissions[0]).toEqual({ domid: 1, access: 'n' });
    const data = pattern(0, 1024, 512);
    await front.write(0, [data]);
    const out = new Uint8Array(data.length);
    await front.read(0, [out]);
    expect(Buffer.compare(out, data)).toBe(0);
    await front.disconnect();
    expect(value(`${vbd.frontendPath}/state`)).toBe('6');
    await removeVbd(toolstack, vbd);
    await service.done;
    expect(server.node(vbd.backendPath)).toBeUndefined();
  });

  it('connectWorker runs both sides of the handshake over a xenstore client (the worker through a port)', async () => {
    const store = await client();
    const front = await connectWorker(
      { module: '@blk/ramdisk', export: 'Ramdisk', options: { sizeSectors: 256 } },
      { from: import.meta.url, store, devid: 768 },
    );
    try {
      const back = '/local/domain/0/backend/vbd/1/768';
      expect(value(`${back}/state`)).toBe('4');
      expect(value(`${back}/sectors`)).toBe('256');
      expect(value('/local/domain/1/device/vbd/768/state')).toBe('4');
      await front.write(1, [new Uint8Array(512).fill(7)]);
    } finally {
      await front.disconnect();
    }
    expect(server.node('/local/domain/0/backend/vbd/1/768')).toBeUndefined();
    expect(server.node('/local/domain/1/device/vbd/768')).toBeUndefined();
  });

  describeWithPeers('inspected with Debian xenstore-utils', ['xenstore-ls', 'xenstore-read'], (peers) => {
    it('shows the negotiated keys to the C tools while connected', async () => {
      const store = await client();
      const front = await connectWorker(
        { module: '@blk/ramdisk', export: 'Ramdisk', options: { sizeSectors: 128, sectorSize: 4096 } },
        { from: import.meta.url, store },
      );
      try {
        const env = { ...process.env, XENSTORED_PATH: socket };
        const listing = (await runOk(peers['xenstore-ls']!, ['-f', '/local/domain/0/backend/vbd/1/51712'], { env })).stdout;
        expect(listing).toMatch(/backend\/vbd\/1\/51712\/state = "4"/);
        expect(listing).toMatch(/sector-size = "4096"/);
        expect(listing).toMatch(/sectors = "1024"/);
        expect(listing).toMatch(/feature-max-indirect-segments = "256"/);
        const ringRef = (await runOk(peers['xenstore-read']!, ['/local/domain/1/device/vbd/51712/ring-ref'], { env })).stdout.trim();
        expect(ringRef).toMatch(/^\d+$/);
      } finally {
        await front.disconnect();
      }
    });
  });
});
