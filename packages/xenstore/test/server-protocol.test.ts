import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HEADER_SIZE, MessageType as T, PAYLOAD_MAX } from '../src/index.js';
import { startHarness, text, z, type Harness } from './helpers/harness.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ listen: false });
});
afterEach(async () => {
  await h.close();
});

describe('server: wire behaviour', () => {
  it("starts with C xenstored's tree: /, /tool, /tool/xenstored, all n0", async () => {
    const raw = h.raw();
    expect(text((await raw.call(T.DIRECTORY, z('/'))).payload)).toBe('tool\0');
    expect(text((await raw.call(T.DIRECTORY, z('/tool'))).payload)).toBe('xenstored\0');
    for (const path of ['/', '/tool', '/tool/xenstored']) {
      expect(text((await raw.call(T.GET_PERMS, z(path))).payload)).toBe('n0\0');
      expect((await raw.call(T.READ, z(path))).payload.length).toBe(0);
    }
  });

  it('echoes type, req_id and tx_id; OK replies are OK\\0; READ replies are unterminated', async () => {
    const raw = h.raw();
    const w = await raw.call(T.WRITE, '/a\0hello', { reqId: 0xdeadbeef });
    expect(w).toMatchObject({ type: T.WRITE, reqId: 0xdeadbeef, txId: 0 });
    expect([...w.payload]).toEqual([0x4f, 0x4b, 0]);
    const r = await raw.call(T.READ, z('/a'), { reqId: 5 });
    expect(r).toMatchObject({ type: T.READ, reqId: 5 });
    expect(text(r.payload)).toBe('hello');
  });

  it('values are binary-safe, NULs included', async () => {
    const raw = h.raw();
    const value = new Uint8Array([0, 1, 2, 255, 0]);
    const payload = new Uint8Array([...new TextEncoder().encode('/bin\0'), ...value]);
    await raw.call(T.WRITE, payload);
    expect([...(await raw.call(T.READ, z('/bin'))).payload]).toEqual([...value]);
  });

  it('an empty DIRECTORY reply has an empty payload', async () => {
    const raw = h.raw();
    const d = await raw.call(T.DIRECTORY, z('/tool/xenstored'));
    expect(d.type).toBe(T.DIRECTORY);
    expect(d.payload.length).toBe(0);
  });

  it("errors come back as type 16 with the wire name and the request's ids", async () => {
    const raw = h.raw();
    const e = await raw.call(T.READ, z('/missing'), { reqId: 99 });
    expect(e).toMatchObject({ type: T.ERROR, reqId: 99, txId: 0 });
    expect(text(e.payload)).toBe('ENOENT\0');
  });

  it('answers ENOSYS for RESTRICT (20), the optional 23-26, unknown types and server-only types', async () => {
    const raw = h.raw();
    for (const type of [20, 23, 24, 25, 26, 27, 15, 16, 1000, 65535]) {
      const e = await raw.call(type, z('1'));
      expect(e.type).toBe(T.ERROR);
      expect(text(e.payload)).toBe('ENOSYS\0');
    }
  });

  it('refuses bad arguments with EINVAL', async () => {
    const raw = h.raw();
    const cases: [number, string][] = [
      [T.READ, 'no-nul'],
      [T.READ, '/a\0/b\0'],
      [T.READ, ''],
      [T.READ, '/a/\0'],
      [T.READ, '/a//b\0'],
      [T.READ, '/a b\0'],
      [T.READ, '@introduceDomain\0'],
      [T.WRITE, '/nonul'],
      [T.SET_PERMS, '/tool\0'],
      [T.SET_PERMS, '/tool\0x1\0'],
      [T.SET_PERMS, '@other\0n0\0'],
      [T.WATCH, '/a\0'],
      [T.WATCH, '/a\0t\0x\0'],
      [T.UNWATCH, '/a\0'],
      [T.TRANSACTION_END, 'X\0'],
      [T.DIRECTORY_PART, '/\0'],
      [T.GET_DOMAIN_PATH, ''],
    ];
    for (const [type, payload] of cases) {
      const e = await raw.call(type, payload);
      expect({ type, payload, reply: text(e.payload) }).toEqual({ type, payload, reply: 'EINVAL\0' });
    }
  });

  it('RM: missing node with an existing parent is fine, missing parent is ENOENT, / is EINVAL', async () => {
    const raw = h.raw();
    expect(text((await raw.call(T.RM, z('/tool/nothing'))).payload)).toBe('OK\0');
    expect(text((await raw.call(T.RM, z('/no/such'))).payload)).toBe('ENOENT\0');
    expect(text((await raw.call(T.RM, z('/'))).payload)).toBe('EINVAL\0');
  });

  it('WRITE and MKDIR create missing parents; MKDIR leaves existing values alone', async () => {
    const raw = h.raw();
    await raw.call(T.WRITE, '/p/q/r\0v');
    expect(text((await raw.call(T.DIRECTORY, z('/p'))).payload)).toBe('q\0');
    expect(text((await raw.call(T.READ, z('/p/q'))).payload)).toBe('');
    await raw.call(T.MKDIR, z('/p/q/r'));
    expect(text((await raw.call(T.READ, z('/p/q/r'))).payload)).toBe('v');
    await raw.call(T.MKDIR, z('/m/n'));
    expect(text((await raw.call(T.DIRECTORY, z('/m'))).payload)).toBe('n\0');
  });

  it('relative paths of a socket/dom0 client live under /local/domain/0', async () => {
    const raw = h.raw();
    await raw.call(T.WRITE, 'name\0dom0');
    expect(text((await raw.call(T.READ, z('/local/domain/0/name'))).payload)).toBe('dom0');
    expect(text((await raw.call(T.GET_DOMAIN_PATH, z('12'))).payload)).toBe('/local/domain/12\0');
  });

  it('DIRECTORY answers E2BIG when the list exceeds 4096 bytes; DIRECTORY_PART pages it like C', async () => {
    const raw = h.raw();
    const names = Array.from({ length: 300 }, (_, i) => `child-number-${String(i).padStart(4, '0')}`);
    for (const name of names) await raw.call(T.MKDIR, z(`/big/${name}`));
    expect(text((await raw.call(T.DIRECTORY, z('/big'))).payload)).toBe('E2BIG\0');
    const got: string[] = [];
    let offset = 0;
    let generation: string | undefined;
    for (let i = 0; i < 10; i++) {
      const reply = await raw.call(T.DIRECTORY_PART, z('/big', String(offset)));
      expect(reply.type).toBe(T.DIRECTORY_PART);
      expect(reply.payload.length).toBeLessThanOrEqual(PAYLOAD_MAX);
      const body = text(reply.payload);
      const genEnd = body.indexOf('\0');
      generation ??= body.slice(0, genEnd);
      expect(body.slice(0, genEnd)).toBe(generation);
      const rest = body.slice(genEnd + 1);
      const done = rest.endsWith('\0\0') || rest === '\0';
      const list = done ? rest.slice(0, -1) : rest;
      got.push(...list.split('\0').filter((s) => s.length > 0));
      offset += list.length;
      if (done) break;
    }
    expect(got).toEqual(names);
    // Past the end: generation then an empty string.
    const past = text((await raw.call(T.DIRECTORY_PART, z('/big', '999999'))).payload);
    expect(past).toBe(`${generation!}\0\0`);
  });

  it('TRANSACTION_START inside a transaction is EBUSY; unknown tx ids ENOENT; the id dies after END', async () => {
    const raw = h.raw();
    const start = await raw.call(T.TRANSACTION_START, z(''));
    const id = Number(text(start.payload).replace('\0', ''));
    expect(id).toBeGreaterThan(0);
    expect(text((await raw.call(T.TRANSACTION_START, z(''), { txId: id })).payload)).toBe('EBUSY\0');
    expect(text((await raw.call(T.READ, z('/tool'), { txId: id + 100 })).payload)).toBe('ENOENT\0');
    expect(text((await raw.call(T.TRANSACTION_END, z('T'), { txId: id + 100 })).payload)).toBe('ENOENT\0');
    const end = await raw.call(T.TRANSACTION_END, z('F'), { txId: id });
    expect(end).toMatchObject({ type: T.TRANSACTION_END, txId: id });
    expect(text((await raw.call(T.TRANSACTION_END, z('T'), { txId: id })).payload)).toBe('ENOENT\0');
  });

  it('WATCH ignores tx_id, acks with OK and then sends one event for the watch path', async () => {
    const raw = h.raw();
    raw.send(T.WATCH, z('/w', 'tok'), { reqId: 3, txId: 12345 });
    const ack = await raw.next();
    expect(ack).toMatchObject({ type: T.WATCH, reqId: 3 });
    expect(text(ack.payload)).toBe('OK\0');
    const ev = await raw.next();
    expect(ev).toMatchObject({ type: T.WATCH_EVENT, reqId: 0, txId: 0 });
    expect(text(ev.payload)).toBe('/w\0tok\0');
    expect(text((await raw.call(T.WATCH, z('/w', 'tok'))).payload)).toBe('EEXIST\0');
    expect(text((await raw.call(T.UNWATCH, z('/w', 'other'))).payload)).toBe('ENOENT\0');
    expect(text((await raw.call(T.UNWATCH, z('/w', 'tok'))).payload)).toBe('OK\0');
  });

  it('privileged-only types answer EACCES to an unprivileged domain', async () => {
    const guest = h.raw(5);
    for (const [type, payload] of [
      [T.CONTROL, z('help')],
      [T.INTRODUCE, z('9', '1', '1')],
      [T.RELEASE, z('9')],
      [T.IS_DOMAIN_INTRODUCED, z('9')],
      [T.RESUME, z('9')],
      [T.SET_TARGET, z('9', '5')],
    ] as const) {
      expect(text((await guest.call(type, payload)).payload)).toBe('EACCES\0');
    }
  });

  it('CONTROL: help, print, check, log and quota', async () => {
    const raw = h.raw();
    expect(text((await raw.call(T.CONTROL, z('help'))).payload)).toContain('quota\t');
    expect(text((await raw.call(T.CONTROL, z('print', 'hi'))).payload)).toBe('OK\0');
    expect(text((await raw.call(T.CONTROL, z('check'))).payload)).toBe('OK\0');
    expect(text((await raw.call(T.CONTROL, z('log', 'off'))).payload)).toBe('OK\0');
    expect(text((await raw.call(T.CONTROL, z('nonsense'))).payload)).toBe('EINVAL\0');
    expect(text((await raw.call(T.CONTROL, z('quota'))).payload)).toMatch(/nodes\s+:\s+1000 /);
    expect(text((await raw.call(T.CONTROL, z('quota', 'set', 'nodes', '7'))).payload)).toBe('OK\0');
    expect(h.server.quotas.nodes).toBe(7);
    expect(text((await raw.call(T.CONTROL, z('quota', 'set', 'nodes', '0'))).payload)).toBe('EINVAL\0');
    expect(text((await raw.call(T.CONTROL, z('quota', '0'))).payload)).toContain('Domain 0:');
    expect(text((await raw.call(T.CONTROL, z('quota', '77'))).payload)).toBe('ENOENT\0');
  });

  it('domain management: INTRODUCE, IS_DOMAIN_INTRODUCED, RESUME, SET_TARGET, RELEASE', async () => {
    const raw = h.raw();
    expect(text((await raw.call(T.IS_DOMAIN_INTRODUCED, z('4'))).payload)).toBe('F\0');
    expect(text((await raw.call(T.IS_DOMAIN_INTRODUCED, z('0'))).payload)).toBe('T\0');
    expect(text((await raw.call(T.IS_DOMAIN_INTRODUCED, z(String(0x7ff0)))).payload)).toBe('T\0');
    expect(text((await raw.call(T.INTRODUCE, z('4', '1234', '0'))).payload)).toBe('EINVAL\0');
    expect(text((await raw.call(T.INTRODUCE, z('4', '1234', '3'))).payload)).toBe('OK\0');
    expect(text((await raw.call(T.IS_DOMAIN_INTRODUCED, z('4'))).payload)).toBe('T\0');
    expect(text((await raw.call(T.RESUME, z('4'))).payload)).toBe('OK\0');
    expect(text((await raw.call(T.RESUME, z('8'))).payload)).toBe('ENOENT\0');
    expect(text((await raw.call(T.SET_TARGET, z('4', '8'))).payload)).toBe('ENOENT\0');
    expect(text((await raw.call(T.RELEASE, z('0'))).payload)).toBe('EINVAL\0');
    expect(text((await raw.call(T.RELEASE, z('4'))).payload)).toBe('OK\0');
    expect(text((await raw.call(T.IS_DOMAIN_INTRODUCED, z('4'))).payload)).toBe('F\0');
    expect(text((await raw.call(T.RELEASE, z('4'))).payload)).toBe('ENOENT\0');
  });

  it("RESET_WATCHES drops the connection's watches and transactions", async () => {
    const raw = h.raw();
    await raw.call(T.WATCH, z('/r', 't'));
    await raw.next((f) => f.type === T.WATCH_EVENT);
    const id = Number(text((await raw.call(T.TRANSACTION_START, z(''))).payload).replace('\0', ''));
    expect(text((await raw.call(T.RESET_WATCHES, z(''))).payload)).toBe('OK\0');
    expect(text((await raw.call(T.UNWATCH, z('/r', 't'))).payload)).toBe('ENOENT\0');
    expect(text((await raw.call(T.TRANSACTION_END, z('T'), { txId: id })).payload)).toBe('ENOENT\0');
  });
});

describe('server: hostile input', () => {
  it('drops a connection that announces an oversize frame, and keeps serving the others', async () => {
    const victim = h.raw();
    const bystander = h.raw();
    await bystander.call(T.WRITE, '/keep\x001');
    const header = new Uint8Array(HEADER_SIZE);
    new DataView(header.buffer).setUint32(12, PAYLOAD_MAX + 1, true);
    victim.sendBytes(header);
    await victim.waitEnded();
    expect(text((await bystander.call(T.READ, z('/keep'))).payload)).toBe('1');
  });

  it('survives random garbage on many connections without losing a well-behaved one', async () => {
    const bystander = h.raw();
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0);
    for (let i = 0; i < 30; i++) {
      const junk = h.raw(i % 3 === 0 ? 7 : 0);
      const bytes = new Uint8Array(1 + (rand() % 600));
      for (let j = 0; j < bytes.length; j++) bytes[j] = rand() & 0xff;
      junk.sendBytes(bytes);
      junk.close();
      await bystander.call(T.WRITE, `/alive\x00${i}`);
    }
    expect(text((await bystander.call(T.READ, z('/alive'))).payload)).toBe('29');
    expect(text((await bystander.call(T.CONTROL, z('check'))).payload)).toBe('OK\0');
  });

  it('well-framed garbage gets error replies, not a crash', async () => {
    const raw = h.raw();
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0);
    for (let i = 0; i < 200; i++) {
      const payload = new Uint8Array(rand() % 64);
      for (let j = 0; j < payload.length; j++) payload[j] = rand() % 4 === 0 ? 0 : 0x2f + (rand() % 60);
      const reply = await raw.call(rand() % 30, payload, { reqId: i, txId: rand() % 3 });
      expect(reply.reqId).toBe(i);
    }
    expect(text((await raw.call(T.CONTROL, z('check'))).payload)).toBe('OK\0');
  });

  it('a request after the client half-closed is not answered and nothing breaks', async () => {
    const raw = h.raw();
    raw.stream.end();
    await raw.waitEnded();
    const other = h.raw();
    expect(text((await other.call(T.READ, z('/tool'))).payload)).toBe('');
  });
});
