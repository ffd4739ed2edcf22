import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MessageType as T, type Client, type WatchEvent } from '../src/index.js';
import { startHarness, text, z, type Harness } from './helpers/harness.js';

let h: Harness;
let dom0: Client;
let events: WatchEvent[];
beforeEach(async () => {
  h = await startHarness({ listen: false });
  dom0 = await h.client(0);
  events = [];
  dom0.onWatch((e) => events.push(e));
});
afterEach(async () => {
  await h.close();
});

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

async function drain(): Promise<WatchEvent[]> {
  await settle();
  return events.splice(0);
}

describe('watches', () => {
  it('fire for the path and any descendant: create, change, permissions, removal', async () => {
    await dom0.immediate((x) => x.watch('/a', 'tok'));
    expect(await drain()).toEqual([{ path: '/a', token: 'tok' }]);
    await dom0.immediate(async (x) => {
      await x.write('/a/b/c', '1');
      await x.write('/a/b/c', '2');
      await x.setperms('/a/b', ['n0', 'r1']);
      await x.write('/elsewhere', '');
      await x.write('/ab', '');
      await x.rm('/a/b/c');
    });
    expect((await drain()).map((e) => e.path)).toEqual(['/a/b/c', '/a/b/c', '/a/b', '/a/b/c']);
  });

  it('MKDIR of an existing node and a failed request fire nothing', async () => {
    await dom0.immediate((x) => x.write('/m', 'v'));
    await dom0.immediate((x) => x.watch('/m', 'tok'));
    await drain();
    await dom0.immediate((x) => x.mkdir('/m'));
    await dom0.immediate((x) => x.rm('/m/nope'));
    expect(await drain()).toEqual([]);
  });

  it('removing an ancestor reports the watch path itself, once per watch', async () => {
    await dom0.immediate((x) => x.write('/r/s/t', 'x'));
    await dom0.immediate(async (x) => {
      await x.watch('/r/s/t', 'deep');
      await x.watch('/r/s', 'mid');
      await x.watch('/r', 'top');
      await x.watch('/r/s/t/u', 'missing');
      await x.watch('/', 'root');
    });
    await drain();
    await dom0.immediate((x) => x.rm('/r'));
    const got = await drain();
    expect(got.filter((e) => e.token === 'deep')).toEqual([{ path: '/r/s/t', token: 'deep' }]);
    expect(got.filter((e) => e.token === 'mid')).toEqual([{ path: '/r/s', token: 'mid' }]);
    expect(got.filter((e) => e.token === 'top')).toEqual([{ path: '/r', token: 'top' }]);
    expect(got.filter((e) => e.token === 'root')).toEqual([{ path: '/r', token: 'root' }]);
    expect(got.filter((e) => e.token === 'missing')).toEqual([]);
  });

  it('a watch set with a relative path reports relative event paths', async () => {
    const guest = await h.client(5);
    const seen: WatchEvent[] = [];
    guest.onWatch((e) => seen.push(e));
    await dom0.immediate(async (x) => {
      await x.mkdir('/local/domain/5');
      await x.setperms('/local/domain/5', ['n5']);
    });
    await guest.immediate((x) => x.watch('device', 'rel'));
    await guest.immediate((x) => x.write('device/vbd/1/state', '3'));
    await settle();
    expect(seen.map((e) => e.path)).toEqual(['device', 'device/vbd/1/state']);
    // The same path given absolutely is a different watch and reports absolute paths.
    await guest.immediate((x) => x.watch('/local/domain/5/device', 'abs'));
    await guest.immediate((x) => x.write('device/x', ''));
    await settle();
    expect(seen.slice(2)).toEqual([
      { path: '/local/domain/5/device', token: 'abs' },
      { path: 'device/x', token: 'rel' },
      { path: '/local/domain/5/device/x', token: 'abs' },
    ]);
  });

  it('UNWATCH of a relative watch works with the same relative path; unknown pairs are ENOENT', async () => {
    await dom0.immediate((x) => x.watch('rel', 't'));
    await dom0.immediate((x) => x.unwatch('rel', 't'));
    await expect(dom0.immediate((x) => x.unwatch('rel', 't'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a depth limit restricts matches to that many levels below the path', async () => {
    await dom0.immediate((x) => x.watch('/d', 'shallow', { depth: 1 }));
    await drain();
    await dom0.immediate(async (x) => {
      await x.write('/d/one', '');
      await x.write('/d/one/two', '');
      await x.write('/d', 'self');
    });
    expect((await drain()).map((e) => e.path)).toEqual(['/d/one', '/d']);
  });

  it('@introduceDomain and @releaseDomain fire for privileged watchers; depth 1 names the domain', async () => {
    await dom0.immediate(async (x) => {
      await x.watch('@introduceDomain', 'intro');
      await x.watch('@releaseDomain', 'rel');
      await x.watch('@releaseDomain', 'rel1', { depth: 1 });
      await x.watch('@releaseDomain/8', 'only8');
    });
    await drain();
    await dom0.immediate((x) => x.introduce(7, 1, 1));
    await dom0.immediate((x) => x.introduce(7, 1, 1));
    h.server.introduce(8);
    await dom0.immediate((x) => x.release(7));
    h.server.release(8);
    expect(await drain()).toEqual([
      { path: '@introduceDomain', token: 'intro' },
      { path: '@introduceDomain', token: 'intro' },
      { path: '@releaseDomain', token: 'rel' },
      { path: '@releaseDomain/7', token: 'rel1' },
      { path: '@releaseDomain', token: 'rel' },
      { path: '@releaseDomain/8', token: 'rel1' },
      { path: '@releaseDomain/8', token: 'only8' },
    ]);
  });

  it('tokens and paths travel byte for byte', async () => {
    const raw = h.raw();
    const token = new Uint8Array([0xff, 0xfe, 0x41]);
    const payload = new Uint8Array([...new TextEncoder().encode('/bytes\0'), ...token, 0]);
    expect(text((await raw.call(T.WATCH, payload)).payload)).toBe('OK\0');
    const ev = await raw.next((f) => f.type === T.WATCH_EVENT);
    expect([...ev.payload]).toEqual([...new TextEncoder().encode('/bytes\0'), ...token, 0]);
    expect(text((await raw.call(T.UNWATCH, payload)).payload)).toBe('OK\0');
  });

  it('watches die with their connection', async () => {
    const raw = h.raw();
    await raw.call(T.WATCH, z('/gone', 't'));
    raw.close();
    await settle();
    await dom0.immediate((x) => x.write('/gone', 'x'));
    expect(h.server.connections).toBe(1);
  });
});
