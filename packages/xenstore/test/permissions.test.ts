import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasCode, type Client, type WatchEvent } from '../src/index.js';
import { code, startHarness, type Harness } from './helpers/harness.js';

let h: Harness;
let dom0: Client;
beforeEach(async () => {
  h = await startHarness({ listen: false });
  dom0 = await h.client(0);
});
afterEach(async () => {
  await h.close();
});

function collect(client: Client): WatchEvent[] {
  const events: WatchEvent[] = [];
  client.onWatch((e) => events.push(e));
  return events;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

describe('permissions', () => {
  it('an unprivileged domain cannot read n0 nodes, and learns nothing about what is below them', async () => {
    const guest = await h.client(3);
    await dom0.immediate((x) => x.write('/secret/key', 'v'));
    expect(await code(guest.immediate((x) => x.read('/secret/key')))).toBe('EACCES');
    expect(await code(guest.immediate((x) => x.read('/secret/none')))).toBe('EACCES');
    expect(await code(guest.immediate((x) => x.directory('/')))).toBe('EACCES');
    expect(await code(guest.immediate((x) => x.write('/secret/key', 'x')))).toBe('EACCES');
    expect(await code(guest.immediate((x) => x.rm('/secret')))).toBe('EACCES');
  });

  it('per-domain entries override the default; the owner always has full access', async () => {
    const three = await h.client(3);
    const four = await h.client(4);
    const five = await h.client(5);
    await dom0.immediate(async (x) => {
      await x.write('/shared', 'data');
      await x.setperms('/shared', ['n5', 'r3', 'w4']);
    });
    expect(await three.immediate((x) => x.read('/shared'))).toBe('data');
    expect(await code(three.immediate((x) => x.write('/shared', 'no')))).toBe('EACCES');
    expect(await code(four.immediate((x) => x.read('/shared')))).toBe('EACCES');
    await four.immediate((x) => x.write('/shared', 'from4'));
    expect(await five.immediate((x) => x.read('/shared'))).toBe('from4');
    await five.immediate((x) => x.write('/shared', 'owner'));
    expect(await code(h.client(6).then((six) => six.immediate((x) => x.read('/shared'))))).toBe('EACCES');
  });

  it('missing nodes: ENOENT where the nearest ancestor is readable, EACCES where it is not', async () => {
    const guest = await h.client(3);
    await dom0.immediate(async (x) => {
      await x.mkdir('/open');
      await x.setperms('/open', ['n0', 'r3']);
    });
    expect(await code(guest.immediate((x) => x.read('/open/a/b')))).toBe('ENOENT');
    expect(await code(guest.immediate((x) => x.write('/open/a', 'v')))).toBe('EACCES');
  });

  it("new nodes inherit the parent's list; an unprivileged creator becomes the owner", async () => {
    const guest = await h.client(7);
    await dom0.immediate(async (x) => {
      await x.mkdir('/local/domain/7');
      await x.setperms('/local/domain/7', ['n0', 'b7', 'r2']);
    });
    await guest.immediate((x) => x.write('device/vbd/51712/state', '1'));
    const perms = await dom0.immediate((x) => x.getperms('/local/domain/7/device/vbd/51712/state'));
    expect(perms).toEqual([
      { domid: 7, access: 'n' },
      { domid: 7, access: 'b' },
      { domid: 2, access: 'r' },
    ]);
    // Nodes created by dom0 keep the parent's owner.
    await dom0.immediate((x) => x.write('/local/domain/7/by-dom0', 'x'));
    expect((await dom0.immediate((x) => x.getperms('/local/domain/7/by-dom0')))[0]).toEqual({ domid: 0, access: 'n' });
  });

  it('only the owner (or a privileged domain) sets permissions; only a privileged one changes the owner', async () => {
    const owner = await h.client(3);
    const other = await h.client(4);
    await dom0.immediate(async (x) => {
      await x.write('/o', '');
      await x.setperms('/o', ['n3', 'b4']);
    });
    expect(await code(other.immediate((x) => x.setperms('/o', ['n3', 'b4', 'r9'])))).toBe('EACCES');
    await owner.immediate((x) => x.setperms('/o', ['r3', 'b4']));
    expect(await code(owner.immediate((x) => x.setperms('/o', ['n4'])))).toBe('EPERM');
    await dom0.immediate((x) => x.setperms('/o', ['n4']));
    expect(await owner.immediate((x) => x.getperms('/o').catch((e: unknown) => (hasCode(e, 'EACCES') ? 'denied' : 'other')))).toBe(
      'denied',
    );
  });

  it('relative paths of domain N live under /local/domain/N', async () => {
    const guest = await h.client(9);
    await dom0.immediate(async (x) => {
      await x.mkdir('/local/domain/9');
      await x.setperms('/local/domain/9', ['n9']);
    });
    await guest.immediate((x) => x.write('name', 'guest'));
    expect(await dom0.immediate((x) => x.read('/local/domain/9/name'))).toBe('guest');
    expect(await guest.immediate((x) => x.getdomainpath(9))).toBe('/local/domain/9');
  });

  it('watch events reach only domains that may read the node or its parent', async () => {
    const reader = await h.client(3);
    const blind = await h.client(4);
    await dom0.immediate(async (x) => {
      await x.mkdir('/w');
      await x.setperms('/w', ['n0', 'r3', 'r4']);
      await x.write('/w/hidden', '');
      await x.setperms('/w/hidden', ['n0', 'r3']);
    });
    const seenByReader = collect(reader);
    const seenByBlind = collect(blind);
    await reader.immediate((x) => x.watch('/w/hidden', 'r'));
    await blind.immediate((x) => x.watch('/w/hidden/deeper', 'b'));
    await dom0.immediate((x) => x.write('/w/hidden/deeper', 'x'));
    await dom0.immediate((x) => x.mkdir('/w/hidden/deeper'));
    await settle();
    expect(seenByReader.map((e) => e.path)).toEqual(['/w/hidden', '/w/hidden/deeper']);
    // blind got its initial event only: it cannot read /w/hidden/deeper nor /w/hidden.
    expect(seenByBlind.map((e) => e.path)).toEqual(['/w/hidden/deeper']);
  });

  it('a domain that loses read access by a permission change still hears that change', async () => {
    const guest = await h.client(3);
    await dom0.immediate(async (x) => {
      await x.write('/lose', '');
      await x.setperms('/lose', ['n0', 'r3']);
      await x.mkdir('/hideparent');
    });
    const seen = collect(guest);
    await guest.immediate((x) => x.watch('/lose', 't'));
    await dom0.immediate((x) => x.setperms('/lose', ['n0']));
    await settle();
    expect(seen.map((e) => e.path)).toEqual(['/lose', '/lose']);
  });

  it('@introduceDomain/@releaseDomain reach unprivileged domains only when SET_PERMS allows it', async () => {
    const guest = await h.client(3);
    const seen = collect(guest);
    await guest.immediate((x) => x.watch('@releaseDomain', 'rel'));
    h.server.introduce(11);
    h.server.release(11);
    await settle();
    expect(seen).toEqual([{ path: '@releaseDomain', token: 'rel' }]);
    expect(await code(guest.immediate((x) => x.setperms('@releaseDomain', ['r3'])))).toBe('EACCES');
    await dom0.immediate((x) => x.setperms('@releaseDomain', ['n0', 'r3']));
    h.server.introduce(12);
    h.server.release(12);
    await settle();
    expect(seen.map((e) => e.path)).toEqual(['@releaseDomain', '@releaseDomain']);
  });

  it("SET_TARGET lets a domain act with its target's rights", async () => {
    const stub = await h.client(20);
    await h.client(21);
    await dom0.immediate(async (x) => {
      await x.write('/local/domain/21/data', 'guest');
      await x.setperms('/local/domain/21', ['n21']);
      await x.setperms('/local/domain/21/data', ['n21']);
    });
    expect(await code(stub.immediate((x) => x.read('/local/domain/21/data')))).toBe('EACCES');
    await dom0.immediate((x) => x.setTarget(20, 21));
    expect(await stub.immediate((x) => x.read('/local/domain/21/data'))).toBe('guest');
  });

  it('RELEASE removes the nodes the domain owns and closes its connections', async () => {
    const guest = await h.client(30);
    await dom0.immediate(async (x) => {
      await x.mkdir('/local/domain/30');
      await x.setperms('/local/domain/30', ['n30']);
      await x.write('/keep', 'dom0');
    });
    await guest.immediate((x) => x.write('data/a', '1'));
    await dom0.immediate((x) => x.release(30));
    expect(await dom0.immediate((x) => x.exists('/local/domain/30'))).toBe(false);
    expect(await dom0.immediate((x) => x.read('/keep'))).toBe('dom0');
    expect(await code(guest.immediate((x) => x.read('data/a')))).toBe('ENOTCONN');
  });
});
