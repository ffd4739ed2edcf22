import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MessageType as T, type Client, type WatchEvent } from '../src/index.js';
import { startHarness, text, z, type Harness, type RawConnection } from './helpers/harness.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ listen: false });
});
afterEach(async () => {
  await h.close();
});

async function start(raw: RawConnection): Promise<number> {
  const reply = await raw.call(T.TRANSACTION_START, z(''));
  return Number(text(reply.payload).replace('\0', ''));
}

async function reply(raw: RawConnection, type: number, payload: string | Uint8Array, txId = 0): Promise<string> {
  return text((await raw.call(type, payload, { txId })).payload);
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

describe('transactions (server)', () => {
  it('reads see the snapshot taken at start; writes stay private until commit', async () => {
    const a = h.raw();
    const b = h.raw();
    await reply(a, T.WRITE, '/x\0before');
    const tx = await start(a);
    await reply(b, T.WRITE, '/x\0outside');
    await reply(b, T.WRITE, '/y\0new');
    expect(await reply(a, T.READ, z('/x'), tx)).toBe('before');
    expect(await reply(a, T.READ, z('/y'), tx)).toBe('ENOENT\0');
    expect(await reply(a, T.DIRECTORY, z('/'), tx)).toBe('tool\0x\0');
    await reply(a, T.WRITE, '/z\0mine', tx);
    expect(await reply(a, T.READ, z('/z'), tx)).toBe('mine');
    expect(await reply(b, T.READ, z('/z'))).toBe('ENOENT\0');
  });

  it('Xen\'s "ta err": an outside write to a node read inside makes commit fail with EAGAIN, applying nothing', async () => {
    const a = h.raw();
    await reply(a, T.WRITE, '/n\0a');
    const tx = await start(a);
    expect(await reply(a, T.READ, z('/n'), tx)).toBe('a');
    await reply(a, T.WRITE, '/n\0b');
    expect(await reply(a, T.READ, z('/n'), tx)).toBe('a');
    await reply(a, T.WRITE, '/n\0c', tx);
    await reply(a, T.WRITE, '/other\0x', tx);
    expect(await reply(a, T.TRANSACTION_END, z('T'), tx)).toBe('EAGAIN\0');
    expect(await reply(a, T.READ, z('/n'))).toBe('b');
    expect(await reply(a, T.READ, z('/other'))).toBe('ENOENT\0');
  });

  it('a node created concurrently where the transaction saw nothing is a conflict', async () => {
    const a = h.raw();
    const tx = await start(a);
    expect(await reply(a, T.READ, z('/fresh'), tx)).toBe('ENOENT\0');
    await reply(a, T.WRITE, '/fresh\0outside');
    await reply(a, T.WRITE, '/fresh\0inside', tx);
    expect(await reply(a, T.TRANSACTION_END, z('T'), tx)).toBe('EAGAIN\0');
    expect(await reply(a, T.READ, z('/fresh'))).toBe('outside');
  });

  it('changes to nodes the transaction never touched do not conflict', async () => {
    const a = h.raw();
    await reply(a, T.WRITE, '/p/one\0x');
    await reply(a, T.WRITE, '/q/two\0x');
    const tx = await start(a);
    expect(await reply(a, T.READ, z('/p/one'), tx)).toBe('x');
    await reply(a, T.WRITE, '/p/one\0y', tx);
    await reply(a, T.WRITE, '/q/two\0z');
    expect(await reply(a, T.TRANSACTION_END, z('T'), tx)).toBe('OK\0');
    expect(await reply(a, T.READ, z('/p/one'))).toBe('y');
    expect(await reply(a, T.READ, z('/q/two'))).toBe('z');
  });

  it('F discards everything; a failed request inside leaves the transaction usable', async () => {
    const a = h.raw();
    const tx = await start(a);
    await reply(a, T.WRITE, '/gone\0x', tx);
    expect(await reply(a, T.RM, z('/no/parent'), tx)).toBe('ENOENT\0');
    await reply(a, T.RM, z('/tool'), tx);
    expect(await reply(a, T.TRANSACTION_END, z('F'), tx)).toBe('OK\0');
    expect(await reply(a, T.READ, z('/gone'))).toBe('ENOENT\0');
    expect(await reply(a, T.DIRECTORY, z('/tool'))).toBe('xenstored\0');
  });

  it('watch events for transactional changes fire only on a successful commit', async () => {
    const watcher = await h.client(0);
    const events: WatchEvent[] = [];
    watcher.onWatch((e) => events.push(e));
    await watcher.immediate((x) => x.watch('/t', 'tok'));
    await settle();
    events.length = 0;
    const a = h.raw();
    const tx = await start(a);
    await reply(a, T.WRITE, '/t/a\0x', tx);
    await settle();
    expect(events).toEqual([]);
    await reply(a, T.TRANSACTION_END, z('F'), tx);
    await settle();
    expect(events).toEqual([]);
    const tx2 = await start(a);
    await reply(a, T.WRITE, '/t/b\0x', tx2);
    await reply(a, T.TRANSACTION_END, z('T'), tx2);
    await settle();
    expect(events).toEqual([{ path: '/t/b', token: 'tok' }]);
  });

  it('closing a connection aborts its transactions', async () => {
    const a = h.raw();
    const tx = await start(a);
    await start(a);
    await reply(a, T.WRITE, '/closed\0x', tx);
    expect(h.server.stats().transactions).toBe(2);
    a.close();
    const b = h.raw();
    await settle();
    expect(await reply(b, T.READ, z('/closed'))).toBe('ENOENT\0');
    expect(h.server.stats()).toMatchObject({ transactions: 0, connections: 1 });
  });

  it('two racing read-modify-write transactions never lose an increment', async () => {
    const one = await h.client(0);
    const two = await h.client(0);
    await one.immediate((x) => x.write('/counter', '0'));
    const bump = (c: Client) =>
      c.transaction(async (x) => {
        const n = Number(await x.read('/counter'));
        await x.write('/counter', String(n + 1));
      });
    const rounds = 60;
    await Promise.all([
      (async () => {
        for (let i = 0; i < rounds; i++) await bump(one);
      })(),
      (async () => {
        for (let i = 0; i < rounds; i++) await bump(two);
      })(),
    ]);
    expect(await one.immediate((x) => x.read('/counter'))).toBe(String(2 * rounds));
  });
});

/** A simple model of the tree for dom0: path → value, parents implied. */
class Model {
  readonly values = new Map<string, string>([
    ['/', ''],
    ['/tool', ''],
    ['/tool/xenstored', ''],
  ]);
  readonly order = new Map<string, string[]>([
    ['/', ['tool']],
    ['/tool', ['xenstored']],
    ['/tool/xenstored', []],
  ]);

  #ensure(path: string): void {
    if (this.values.has(path)) return;
    const parent = path.slice(0, path.lastIndexOf('/')) || '/';
    this.#ensure(parent);
    this.values.set(path, '');
    this.order.set(path, []);
    this.order.get(parent)!.push(path.slice(path.lastIndexOf('/') + 1));
  }

  write(path: string, value: string): void {
    this.#ensure(path);
    this.values.set(path, value);
  }

  mkdir(path: string): void {
    this.#ensure(path);
  }

  rm(path: string): 'OK' | 'ENOENT' {
    const parent = path.slice(0, path.lastIndexOf('/')) || '/';
    if (!this.values.has(path)) return this.values.has(parent) ? 'OK' : 'ENOENT';
    for (const key of [...this.values.keys()]) {
      if (key === path || key.startsWith(`${path}/`)) {
        this.values.delete(key);
        this.order.delete(key);
      }
    }
    const name = path.slice(path.lastIndexOf('/') + 1);
    this.order.set(
      parent,
      this.order.get(parent)!.filter((c) => c !== name),
    );
    return 'OK';
  }
}

const pathArb = fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 3 }).map((parts) => `/m/${parts.join('/')}`);
const opArb = fc.oneof(
  fc.record({ op: fc.constant('write' as const), path: pathArb, value: fc.string({ maxLength: 4 }).map((s) => s.replace(/\0/g, '')) }),
  fc.record({ op: fc.constant('mkdir' as const), path: pathArb }),
  fc.record({ op: fc.constant('rm' as const), path: pathArb }),
  fc.record({ op: fc.constant('read' as const), path: pathArb }),
  fc.record({ op: fc.constant('dir' as const), path: pathArb }),
);

describe('transactions against a model', () => {
  it('a committed transaction behaves like its operations applied to a model; an aborted one like nothing', async () => {
    const client = await h.client(0);
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 12 }), fc.boolean(), async (ops, commit) => {
        round++;
        await client.immediate((x) => x.rm('/m'));
        await client.immediate((x) => x.mkdir('/m'));
        const model = new Model();
        model.mkdir('/m');
        const before = new Map(model.values);
        const work = async () =>
          client.transaction(async (x) => {
            for (const step of ops) {
              if (step.op === 'write') {
                await x.write(step.path, step.value);
                model.write(step.path, step.value);
              } else if (step.op === 'mkdir') {
                await x.mkdir(step.path);
                model.mkdir(step.path);
              } else if (step.op === 'rm') {
                const expected = model.rm(step.path);
                const got = await x.rm(step.path).then(
                  () => 'OK',
                  (e: unknown) => (e as { code: string }).code,
                );
                expect(got).toBe(expected);
              } else if (step.op === 'read') {
                const got = await x.read(step.path).catch((e: unknown) => `!${(e as { code: string }).code}`);
                expect(got).toBe(model.values.has(step.path) ? model.values.get(step.path) : '!ENOENT');
              } else {
                const got = await x.directory(step.path).catch((e: unknown) => `!${(e as { code: string }).code}`);
                expect(got).toEqual(model.order.get(step.path) ?? '!ENOENT');
              }
            }
            if (!commit) throw new Error(`abort ${round}`);
          });
        if (commit) await work();
        else await expect(work()).rejects.toThrow(`abort ${round}`);
        const expected = commit ? model.values : before;
        const actual = new Map<string, string>();
        const walk = async (path: string): Promise<void> => {
          actual.set(path, await client.immediate((x) => x.read(path)));
          for (const child of await client.immediate((x) => x.directory(path))) await walk(path === '/' ? `/${child}` : `${path}/${child}`);
        };
        await walk('/');
        expect(actual).toEqual(expected);
      }),
      { numRuns: 60 },
    );
  });
});
