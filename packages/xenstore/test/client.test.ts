import { waitFor } from '@blk/test-kit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  connect,
  encodeFrame,
  Eagain,
  MessageType as T,
  nulTerminated,
  PAYLOAD_MAX,
  XenstoreError,
  type Client,
  type Frame,
} from '../src/index.js';
import { FakeServer } from './helpers/fake-server.js';
import { code, startHarness, text, type Harness } from './helpers/harness.js';
import type { XenbusStore } from './helpers/handshake.js';

let h: Harness;
let dom0: Client;
beforeEach(async () => {
  h = await startHarness();
  dom0 = await h.client(0);
});
afterEach(async () => {
  await h.close();
});

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

/** Watches domain `domid` holds, as CONTROL quota reports them. */
async function watchesOf(domid: number): Promise<number> {
  const report = (await dom0.immediate((x) => x.debug(['quota', String(domid)]))).join('');
  return Number(/watches\s+:\s+(\d+)/.exec(report)![1]);
}

async function transactionsOf(domid: number): Promise<number> {
  const report = (await dom0.immediate((x) => x.debug(['quota', String(domid)]))).join('');
  return Number(/transactions\s+:\s+(\d+)/.exec(report)![1]);
}

describe('client basics', () => {
  it('connects over a Unix socket path and over a stream', async () => {
    const viaPath = await connect({ path: h.socket });
    await viaPath.immediate((x) => x.write('/via', 'path'));
    expect(await dom0.immediate((x) => x.read('/via'))).toBe('path');
    await viaPath.close();
    await expect(connect({ path: `${h.dir}/nothing.sock` })).rejects.toMatchObject({ code: 'ENOTCONN' });
  });

  it('multiplexes many requests over one connection', async () => {
    await dom0.immediate(async (x) => {
      await Promise.all(Array.from({ length: 200 }, (_, i) => x.write(`/many/${i}`, String(i * 3))));
      const values = await Promise.all(Array.from({ length: 200 }, (_, i) => x.read(`/many/${i}`)));
      expect(values).toEqual(Array.from({ length: 200 }, (_, i) => String(i * 3)));
    });
  });

  it('satisfies the XenbusStore shape @blk/xen-ring declares', async () => {
    const store: XenbusStore = dom0;
    await store.immediate((x) => x.write('/shape', 'ok'));
    expect(await store.transaction((x) => x.read('/shape'))).toBe('ok');
    expect(await store.immediate((x) => x.getdomainpath(3))).toBe('/local/domain/3');
    const missing = await store.immediate((x) => x.read('/nope')).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(XenstoreError);
    expect((missing as XenstoreError).code).toBe('ENOENT');
  });

  it('typed errors carry the wire name', async () => {
    expect(await code(dom0.immediate((x) => x.read('/nope')))).toBe('ENOENT');
    expect(await code(dom0.immediate((x) => x.read('/bad path')))).toBe('EINVAL');
    expect(await code(dom0.immediate((x) => x.restrict(1)))).toBe('ENOSYS');
    expect(await code(dom0.immediate((x) => x.watch('/w', 't').then(() => x.watch('/w', 't'))))).toBe('EEXIST');
  });

  it('refuses locally what cannot be sent', async () => {
    expect(await code(dom0.immediate((x) => x.write('/big', 'x'.repeat(PAYLOAD_MAX))))).toBe('E2BIG');
    expect(await code(dom0.immediate((x) => x.read('')))).toBe('EINVAL');
    expect(await code(dom0.immediate((x) => x.read('/a\0b')))).toBe('EINVAL');
    expect(await code(dom0.immediate((x) => x.getdomainpath(-1)))).toBe('EINVAL');
    expect(await code(dom0.immediate((x) => x.setperms('/a', [])))).toBe('EINVAL');
    expect(await code(dom0.immediate((x) => x.setperms('/a', ['q1'])))).toBe('EINVAL');
    expect(await code(dom0.immediate((x) => x.debug([])))).toBe('EINVAL');
  });

  it('reads binary values, lists long directories through DIRECTORY_PART', async () => {
    await dom0.immediate(async (x) => {
      await x.write('/bin', new Uint8Array([0, 255, 7]));
      expect([...(await x.readBytes('/bin'))]).toEqual([0, 255, 7]);
      const names = Array.from({ length: 400 }, (_, i) => `entry-with-a-long-name-${i}`);
      await Promise.all(names.map((n) => x.mkdir(`/long/${n}`)));
      expect(await x.directory('/long')).toEqual(names);
      expect(await x.directory('/tool/xenstored')).toEqual([]);
      expect(await x.exists('/long')).toBe(true);
      expect(await x.exists('/long/none')).toBe(false);
    });
  });

  it('handle extras: domain calls and CONTROL', async () => {
    await dom0.immediate(async (x) => {
      expect(await x.isDomainIntroduced(44)).toBe(false);
      await x.introduce(44, 100, 5);
      expect(await x.isDomainIntroduced(44)).toBe(true);
      await x.resumeDomain(44);
      await x.release(44);
      expect(await x.debug(['print', 'hello'])).toEqual(['OK']);
      expect((await x.debug(['help'])).join('')).toContain('check');
    });
  });

  it('after close every call rejects with ENOTCONN; close is idempotent', async () => {
    const c = await h.client(0);
    await c.close();
    await c.close();
    expect(c.closed).toBe(true);
    expect(await code(c.immediate((x) => x.read('/tool')))).toBe('ENOTCONN');
    expect(await code(c.wait(async () => 1))).toBe('ENOTCONN');
    expect(await code(c.suspend())).toBe('ENOTCONN');
  });

  it('in-flight requests reject with ENOTCONN when the server goes away', async () => {
    const fake = new FakeServer(() => undefined);
    const c = await connect({ stream: fake.clientSide });
    const pending = c.immediate((x) => x.read('/x'));
    await settle();
    fake.destroy();
    expect(await code(pending)).toBe('ENOTCONN');
    await c.close();
  });
});

describe('client against a misbehaving server', () => {
  it('matches replies to requests by req_id, whatever their order', async () => {
    const held: Frame[] = [];
    const fake = new FakeServer((frame, server) => {
      held.push(frame);
      if (held.length === 3) for (const f of held.reverse()) server.reply(f, new TextEncoder().encode(`v${text(f.payload)}`));
    });
    const c = await connect({ stream: fake.clientSide });
    const values = await c.immediate((x) => Promise.all([x.read('a'), x.read('b'), x.read('c')]));
    expect(values).toEqual(['va\0', 'vb\0', 'vc\0']);
    await c.close();
  });

  it('a reply for an unknown req_id is fatal: EPROTO', async () => {
    const fake = new FakeServer((frame, server) => {
      server.sendFrame({ type: frame.type, reqId: frame.reqId + 1000, txId: 0, payload: new Uint8Array() });
    });
    const c = await connect({ stream: fake.clientSide });
    expect(await code(c.immediate((x) => x.read('/x')))).toBe('EPROTO');
    expect(await code(c.immediate((x) => x.read('/x')))).toBe('EPROTO');
    await c.close();
  });

  it('a reply of another type is EPROTO', async () => {
    const fake = new FakeServer((frame, server) => {
      server.sendFrame({ type: T.DIRECTORY, reqId: frame.reqId, txId: 0, payload: new Uint8Array() });
    });
    const c = await connect({ stream: fake.clientSide });
    expect(await code(c.immediate((x) => x.read('/x')))).toBe('EPROTO');
    await c.close();
  });

  it('an oversize frame from the server is EPROTO', async () => {
    const fake = new FakeServer((frame, server) => {
      server.reply(frame, new Uint8Array(PAYLOAD_MAX + 1));
    });
    const c = await connect({ stream: fake.clientSide });
    expect(await code(c.immediate((x) => x.read('/x')))).toBe('EPROTO');
    await c.close();
  });

  it('error names unknown to C (EQUOTA) are kept as they are', async () => {
    const fake = new FakeServer((frame, server) => {
      server.error(frame, 'EQUOTA');
    });
    const c = await connect({ stream: fake.clientSide });
    expect(await code(c.immediate((x) => x.write('/x', '')))).toBe('EQUOTA');
    await c.close();
  });
});

describe('transaction()', () => {
  it('retries the whole body on EAGAIN', async () => {
    h.server.failNextCommits(3);
    let runs = 0;
    const result = await dom0.transaction(async (x) => {
      runs++;
      await x.write('/retried', String(runs));
      return runs;
    });
    expect(result).toBe(4);
    expect(await dom0.immediate((x) => x.read('/retried'))).toBe('4');
    expect(await transactionsOf(0)).toBe(0);
  });

  it('gives up after maxAttempts with EAGAIN and leaves no transaction open', async () => {
    h.server.failNextCommits(1000);
    let runs = 0;
    const outcome = await code(
      dom0.transaction(
        async () => {
          runs++;
        },
        { maxAttempts: 4 },
      ),
    );
    expect(outcome).toBe('EAGAIN');
    expect(runs).toBe(4);
    expect(await transactionsOf(0)).toBe(0);
    await expect(dom0.transaction(async () => 1, { maxAttempts: 0 })).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('sends END "F" when the body throws, and rethrows', async () => {
    const fake = new FakeServer((frame, server) => {
      if (frame.type === T.TRANSACTION_START) server.reply(frame, nulTerminated('9'));
      else if (frame.type === T.READ) server.reply(frame, new TextEncoder().encode('v'));
      else server.ok(frame);
    });
    const c = await connect({ stream: fake.clientSide });
    const boom = new Error('boom');
    await expect(
      c.transaction(async (x) => {
        await x.read('/a');
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(fake.received.map((f) => [f.type, f.txId, text(f.payload)])).toEqual([
      [T.TRANSACTION_START, 0, '\0'],
      [T.READ, 9, '/a\0'],
      [T.TRANSACTION_END, 9, 'F\0'],
    ]);
    await c.close();
  });

  it('stops before an attempt once the signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(dom0.transaction(async () => 1, { signal: controller.signal })).rejects.toThrow('stop');
  });
});

describe('wait()', () => {
  it('returns as soon as the callback does', async () => {
    expect(await dom0.wait(async (x) => x.read('/tool/xenstored'))).toBe('');
  });

  it('re-runs the callback when a path it read changes, until it stops throwing Eagain', async () => {
    const guest = await h.client(6);
    await dom0.immediate(async (x) => {
      await x.write('/local/domain/6/state', '1');
      await x.setperms('/local/domain/6', ['n6']);
      await x.setperms('/local/domain/6/state', ['n6']);
    });
    let runs = 0;
    const waiting = guest.wait(async (x) => {
      runs++;
      const state = await x.read('state');
      if (state !== '4') throw new Eagain();
      return state;
    });
    await waitFor(async () => (await watchesOf(6)) === 1, 'the wait to set its watch');
    await dom0.immediate((x) => x.write('/local/domain/6/state', '3'));
    await dom0.immediate((x) => x.write('/local/domain/6/state', '4'));
    expect(await waiting).toBe('4');
    expect(runs).toBeGreaterThanOrEqual(2);
    expect(await watchesOf(6)).toBe(0);
  });

  it('accepts any error named Eagain (for packages that cannot import ours)', async () => {
    let n = 0;
    const waiting = dom0.wait(async (x) => {
      await x.read('/tool');
      if (++n < 3) throw Object.assign(new Error('not yet'), { name: 'Eagain' });
      return n;
    });
    await waitFor(() => n >= 1, 'the first run');
    await dom0.immediate((x) => x.write('/tool', 'a'));
    await waitFor(() => n >= 2, 'the second run');
    await dom0.immediate((x) => x.write('/tool', 'b'));
    expect(await waiting).toBe(3);
  });

  it('watches exactly the paths read on the last run: the set does not grow (the upstream leak)', async () => {
    const guest = await h.client(8);
    await dom0.immediate(async (x) => {
      await x.mkdir('/local/domain/8');
      await x.setperms('/local/domain/8', ['n8']);
      await x.write('/local/domain/8/step', '0');
    });
    const counts: number[] = [];
    let runs = 0;
    const waiting = guest.wait(async (x) => {
      runs++;
      const step = Number(await x.read('step'));
      if (step >= 12) return step;
      await x.read(`path-${step}`).catch(() => undefined);
      throw new Eagain();
    });
    for (let i = 1; i <= 12; i++) {
      // the run that saw step i - 1 (a write may wake more than one run, so at least i)
      await waitFor(() => runs >= i, `the run for step ${i - 1}`);
      counts.push(await watchesOf(8));
      await dom0.immediate((x) => x.write('/local/domain/8/step', String(i)));
    }
    expect(await waiting).toBe(12);
    expect(Math.max(...counts)).toBeLessThanOrEqual(2);
    expect(await watchesOf(8)).toBe(0);
  });

  it('surfaces a watch quota error, removing the watches it had set', async () => {
    const guest = await h.client(9);
    await dom0.immediate(async (x) => {
      await x.debug(['quota', 'set', 'watches', '2']);
      await x.mkdir('/local/domain/9');
      await x.setperms('/local/domain/9', ['n9']);
    });
    const outcome = await code(
      guest.wait(async (x) => {
        for (const p of ['a', 'b', 'c']) await x.read(p).catch(() => undefined);
        throw new Eagain();
      }),
    );
    expect(outcome).toBe('E2BIG');
    expect(await watchesOf(9)).toBe(0);
  });

  it('tolerates ENOENT when removing a watch, and reports EQUOTA from servers that use it', async () => {
    let watchCalls = 0;
    const fake = new FakeServer((frame, server) => {
      if (frame.type === T.READ) server.error(frame, 'ENOENT');
      else if (frame.type === T.WATCH) {
        watchCalls++;
        if (watchCalls === 3) server.error(frame, 'EQUOTA');
        else {
          server.ok(frame);
          const [path, token] = text(frame.payload).split('\0') as [string, string];
          server.event(path, token);
        }
      } else if (frame.type === T.UNWATCH) server.error(frame, 'ENOENT');
      else server.ok(frame);
    });
    const c = await connect({ stream: fake.clientSide });
    let run = 0;
    const outcome = await code(
      c.wait(async (x) => {
        run++;
        await x.read(`p${run}`).catch(() => undefined);
        throw new Eagain();
      }),
    );
    expect(outcome).toBe('EQUOTA');
    const unwatched = fake.received.filter((f) => f.type === T.UNWATCH).map((f) => text(f.payload).split('\0')[0]);
    expect(unwatched).toEqual(['p1', 'p2']);
    await c.close();
  });

  it('an AbortSignal ends the wait with its reason and removes the watches', async () => {
    const guest = await h.client(10);
    await dom0.immediate(async (x) => {
      await x.mkdir('/local/domain/10');
      await x.setperms('/local/domain/10', ['n10']);
    });
    const controller = new AbortController();
    const waiting = guest.wait(
      async (x) => {
        await x.read('never').catch(() => undefined);
        throw new Eagain();
      },
      { signal: controller.signal },
    );
    await waitFor(async () => (await watchesOf(10)) === 1, 'the wait to set its watch');
    controller.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    expect(await watchesOf(10)).toBe(0);
    const already = new AbortController();
    already.abort(new Error('early'));
    await expect(guest.wait(async () => 1, { signal: already.signal })).rejects.toThrow('early');
  });

  it('other errors from the callback end the wait', async () => {
    await expect(
      dom0.wait(async (x) => {
        await x.read('/tool');
        throw new Error('real failure');
      }),
    ).rejects.toThrow('real failure');
    expect(await watchesOf(0)).toBe(0);
  });

  it('closing the client ends a pending wait with ENOTCONN', async () => {
    const c = await h.client(0);
    let runs = 0;
    const waiting = c.wait(async (x) => {
      runs++;
      await x.read('/tool');
      throw new Eagain();
    });
    await waitFor(() => runs > 0, 'the wait to run');
    await c.close();
    expect(await code(waiting)).toBe('ENOTCONN');
  });

  it('a lost connection ends a pending wait with ENOTCONN', async () => {
    const fake = new FakeServer((frame, server) => {
      if (frame.type === T.READ) server.reply(frame, new Uint8Array());
      else server.ok(frame);
    });
    const c = await connect({ stream: fake.clientSide });
    let runs = 0;
    const waiting = c.wait(async (x) => {
      runs++;
      await x.read('/a');
      throw new Eagain();
    });
    await waitFor(() => runs > 0, 'the wait to run');
    fake.destroy();
    expect(await code(waiting)).toBe('ENOTCONN');
    await c.close();
  });
});

describe('suspend() and resume()', () => {
  it('holds new work while suspended, reconnects on resume, and sets watches again', async () => {
    const c = await connect({ path: h.socket });
    const events: string[] = [];
    c.onWatch((e) => events.push(e.path));
    await c.immediate((x) => x.watch('/sr', 'mine'));
    let runs = 0;
    const waiting = c.wait(async (x) => {
      runs++;
      if ((await x.read('/sr').catch(() => '')) !== 'go') throw new Eagain();
      return 'done';
    });
    await waitFor(() => runs > 0, 'the wait to run');
    const before = h.server.connections;
    await c.suspend();
    expect(c.suspended).toBe(true);
    expect(h.server.connections).toBe(before - 1);
    let ran = false;
    const held = c.immediate(async (x) => {
      ran = true;
      return x.read('/tool');
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(ran).toBe(false);
    await c.resume();
    expect(await held).toBe('');
    await dom0.immediate((x) => x.write('/sr', 'go'));
    expect(await waiting).toBe('done');
    await settle();
    expect(events.filter((p) => p === '/sr').length).toBeGreaterThanOrEqual(2);
    await c.close();
  });

  it('suspend waits for runs in progress', async () => {
    let release!: () => void;
    const run = dom0.immediate(
      () =>
        new Promise<string>((resolve) => {
          release = () => {
            resolve('finished');
          };
        }),
    );
    let suspended = false;
    const suspending = dom0.suspend().then(() => {
      suspended = true;
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(suspended).toBe(false);
    release();
    expect(await run).toBe('finished');
    await suspending;
    expect(suspended).toBe(true);
    await dom0.resume();
    expect(await dom0.immediate((x) => x.read('/tool'))).toBe('');
  });

  it('a stream client can resume over a new stream after losing its connection', async () => {
    const c = await h.client(0);
    await c.immediate((x) => x.watch('/again', 'tok'));
    await c.suspend();
    await c.resume(h.server.connectAs(0));
    const events: string[] = [];
    c.onWatch((e) => events.push(e.path));
    await dom0.immediate((x) => x.write('/again', 'x'));
    await settle();
    expect(events).toContain('/again');
    await c.close();
  });
});

describe('client edge cases', () => {
  it('events of a settled wait never reach onWatch listeners', async () => {
    let unwatched = false;
    const fake = new FakeServer((frame, server) => {
      const [path, token] = text(frame.payload).split('\0') as [string, string];
      if (frame.type === T.READ) server.reply(frame, new TextEncoder().encode('v'));
      else if (frame.type === T.WATCH) {
        server.ok(frame);
        server.event(path, token);
      } else if (frame.type === T.UNWATCH) {
        server.ok(frame);
        // A change that raced the UNWATCH: its event arrives after the wait settled.
        server.event(path, token);
        unwatched = true;
      } else server.ok(frame);
    });
    const c = await connect({ stream: fake.clientSide });
    const seen: string[] = [];
    c.onWatch((e) => seen.push(e.token));
    let n = 0;
    expect(
      await c.wait(async (x) => {
        await x.read('/late');
        if (++n < 2) throw new Eagain();
        return n;
      }),
    ).toBe(2);
    await settle();
    expect(unwatched).toBe(true);
    expect(seen).toEqual([]);
    await c.close();
  });

  it('a transaction whose connection dies mid-body rejects with ENOTCONN and is not retried', async () => {
    const c = await connect({ path: h.socket });
    let runs = 0;
    const outcome = code(
      c.transaction(async (x) => {
        runs++;
        await x.read('/tool');
        await h.server.close();
        await x.write('/after', 'x');
      }),
    );
    expect(await outcome).toBe('ENOTCONN');
    expect(runs).toBe(1);
    await c.close();
  });
});

describe('resume edge cases', () => {
  it('sets the other watches again when one fails, releases the client, then reports the failure', async () => {
    await dom0.immediate(async (x) => {
      await x.mkdir('/local/domain/12');
      await x.setperms('/local/domain/12', ['n12']);
    });
    const guest = await h.client(12);
    await guest.immediate(async (x) => {
      await x.watch('a', 't');
      await x.watch('b', 't');
    });
    await dom0.immediate((x) => x.debug(['quota', 'set', 'watches', '1']));
    await guest.suspend();
    await expect(guest.resume(h.server.connectAs(12))).rejects.toMatchObject({ code: 'E2BIG' });
    expect(guest.suspended).toBe(false);
    expect(await guest.immediate((x) => x.read('a').catch((e: unknown) => (e as { code: string }).code))).toBe('ENOENT');
    expect(await watchesOf(12)).toBe(1);
  });
});

describe('a throwing watch listener', () => {
  it('neither stops the other listeners nor the replies in the same chunk, and becomes a process warning', async () => {
    const fake = new FakeServer((frame, server) => {
      if (frame.type !== T.READ) return;
      // Two events and the reply arrive in one chunk.
      const event = (path: string) => encodeFrame({ type: T.WATCH_EVENT, reqId: 0, txId: 0, payload: nulTerminated(path, 'tok') });
      const reply = encodeFrame({ type: T.READ, reqId: frame.reqId, txId: 0, payload: new TextEncoder().encode('v') });
      server.sendBytes(Buffer.concat([event('/a'), event('/b'), reply]));
    });
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const c = await connect({ stream: fake.clientSide });
      const seen: string[] = [];
      c.onWatch(() => {
        throw new Error('listener bug');
      });
      c.onWatch((e) => seen.push(e.path));
      expect(await c.immediate((x) => x.read('/k'))).toBe('v');
      expect(seen).toEqual(['/a', '/b']);
      await waitFor(() => warnings.length === 2, 'both listener failures to be reported');
      expect(warnings.map((w) => w.name)).toEqual(['XenstoreWatchListenerError', 'XenstoreWatchListenerError']);
      expect(c.closed).toBe(false);
      await c.close();
    } finally {
      process.off('warning', onWarning);
    }
  });
});
