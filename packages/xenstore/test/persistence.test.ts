import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir, waitFor } from '@blk/test-kit';
import { connect, createServer, XenstoreError, type Server } from '../src/index.js';

let dir: { path: string; remove(): void };
let servers: Server[];
beforeEach(() => {
  dir = makeTempDir('blk-xs-persist-');
  servers = [];
});
afterEach(async () => {
  for (const s of servers) await s.close();
  dir.remove();
});

function start(file: string, log?: (m: string) => void): Server {
  const server = createServer({ persist: file, ...(log ? { log } : {}) });
  servers.push(server);
  return server;
}

describe('persistence', () => {
  it('a restarted server keeps every committed change, permissions and special watch permissions included', async () => {
    const file = `${dir.path}/tree.json`;
    const first = start(file);
    const c = await connect({ stream: first.connectAs(0) });
    await c.immediate(async (x) => {
      await x.write('/a/b', 'one');
      await x.write('/bin', new Uint8Array([0, 1, 255]));
      await x.setperms('/a/b', ['n3', 'r4']);
      await x.setperms('@releaseDomain', ['n0', 'r5']);
      await x.mkdir('/a/c');
      await x.rm('/tool/xenstored');
    });
    await c.transaction(async (x) => {
      await x.write('/tx', 'committed');
    });
    await c
      .transaction(async (x) => {
        await x.write('/aborted', 'no');
        throw new Error('abort');
      })
      .catch(() => undefined);
    await c.close();
    await first.close();

    const second = start(file);
    const d = await connect({ stream: second.connectAs(0) });
    await d.immediate(async (x) => {
      expect(await x.read('/a/b')).toBe('one');
      expect([...(await x.readBytes('/bin'))]).toEqual([0, 1, 255]);
      expect(await x.getperms('/a/b')).toEqual([
        { domid: 3, access: 'n' },
        { domid: 4, access: 'r' },
      ]);
      expect(await x.directory('/a')).toEqual(['b', 'c']);
      expect(await x.directory('/tool')).toEqual([]);
      expect(await x.read('/tx')).toBe('committed');
      expect(await x.exists('/aborted')).toBe(false);
    });
    // Node ownership counts survive too: domain 3 owns /a/b.
    expect((await d.immediate((x) => x.debug(['quota', '0']))).join('')).toContain('Domain 0');
    const guest = await connect({ stream: second.connectAs(5) });
    const seen: string[] = [];
    guest.onWatch((e) => seen.push(e.path));
    await guest.immediate((x) => x.watch('@releaseDomain', 't'));
    second.introduce(9);
    second.release(9);
    await waitFor(() => seen.length >= 2, 'the two @releaseDomain events');
    expect(seen).toEqual(['@releaseDomain', '@releaseDomain']);
    await guest.close();
    await d.close();
  });

  it('an acknowledged write is already on disk when its reply arrives', async () => {
    const file = `${dir.path}/tree.json`;
    const server = start(file);
    const c = await connect({ stream: server.connectAs(0) });
    for (let i = 0; i < 5; i++) {
      await c.immediate((x) => x.write('/durable', `v${i}`));
      expect(readFileSync(file, 'utf8')).toContain(Buffer.from(`v${i}`).toString('base64'));
    }
    await c.close();
  });

  it('writes through a temporary file and rename, leaving no temporary behind', async () => {
    const file = `${dir.path}/tree.json`;
    const server = start(file);
    const c = await connect({ stream: server.connectAs(0) });
    await Promise.all(Array.from({ length: 50 }, (_, i) => c.immediate((x) => x.write(`/burst/${i}`, String(i)))));
    await c.close();
    await server.close();
    expect(readdirSync(dir.path)).toEqual(['tree.json']);
    const restarted = start(file);
    expect(restarted.node('/burst/49')?.value).toEqual(new TextEncoder().encode('49'));
  });

  it('refuses to start from a damaged file instead of losing data', () => {
    const file = `${dir.path}/tree.json`;
    const broken = [
      'not json',
      '{"format":"other","version":1,"nodes":[]}',
      '{"format":"@blk/xenstore tree","version":1,"special":{},"nodes":[]}',
      '{"format":"@blk/xenstore tree","version":1,"special":{},"nodes":[["/","",["n0"],["a"]]]}',
      '{"format":"@blk/xenstore tree","version":1,"special":{},"nodes":[["/","",["x0"],[]]]}',
      '{"format":"@blk/xenstore tree","version":1,"special":{},"nodes":[["/","",["n0"],[]],["/a","",["n0"],[]]]}',
    ];
    for (const text of broken) {
      writeFileSync(file, text);
      expect(() => createServer({ persist: file })).toThrow(/not a valid @blk\/xenstore tree/);
    }
  });

  it("starts fresh (C's boot tree) when the file does not exist yet", async () => {
    const server = start(`${dir.path}/new.json`);
    expect(server.node('/tool/xenstored')?.permissions).toEqual([{ domid: 0, access: 'n' }]);
    expect(readdirSync(dir.path)).toEqual([]);
  });

  it('never acknowledges a change it could not save: the reply is EIO and the failure is logged', async () => {
    const file = `${dir.path}/missing-dir/tree.json`;
    const logs: string[] = [];
    const server = start(file, (m) => logs.push(m));
    const c = await connect({ stream: server.connectAs(0) });
    const reply = await c
      .immediate((x) => x.write('/x', '1'))
      .then(
        () => 'acknowledged',
        (error: unknown) => (error instanceof XenstoreError ? error.code : error),
      );
    expect(reply).toBe('EIO');
    expect(logs.some((l) => l.includes('saving') && l.includes('failed'))).toBe(true);
    expect(existsSync(file)).toBe(false);
    await c.close();
  });
});
