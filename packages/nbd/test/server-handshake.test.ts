// The server's handshake against hand-made and hostile clients: every option of the issue, the
// strict state machine, and the guards learned from CVEs (option length cap, handshake deadline,
// connection cap, backend untouched before the handshake, plaintext after STARTTLS).
import { withFaults, wrapDevice } from '@blk/conformance';
import { Ramdisk } from '@blk/ramdisk';
import { waitFor } from '@blk/test-kit';
import { beforeAll, describe, expect, it } from 'vitest';
import { BASE_ALLOCATION, Info, Option, Reply, TransmissionFlag } from '../src/constants.js';
import {
  decodeInfoReply,
  decodeMetaContextReply,
  decodeServerReply,
  encodeInfoRequest,
  encodeMetaContextRequest,
  encodeOption,
} from '../src/option-codec.js';
import { connect } from '../src/index.js';
import { useServers } from './helpers/server-fixture.js';

const { serve, client } = useServers('hs');

const infoOf = (replies: { type: number; data: Buffer }[]) =>
  replies.filter((r) => r.type === Reply.INFO).map((r) => decodeInfoReply(r.data));

describe('options', () => {
  let path: string;
  let errors: Error[];
  let getInfoCalls = 0;
  beforeAll(async () => {
    const counted = wrapDevice(new Ramdisk({ sizeSectors: 2048 }), (op, _args, call) => {
      if (op === 'getInfo') getInfoCalls++;
      return call();
    });
    ({ path, errors } = await serve({
      exports: {
        '': { device: counted, description: 'default disk' },
        small: new Ramdisk({ sizeSectors: 8, sectorSize: 4096 }),
        ro: { device: new Ramdisk({ sizeSectors: 64 }), readOnly: true },
      },
    }));
  });

  it('greets with fixed newstyle and NO_ZEROES', async () => {
    const c = await client(path);
    expect(await c.greet()).toBe(3);
  });

  it('LIST names every export with its description, then ACK; with data it is ERR_INVALID', async () => {
    const c = await client(path);
    await c.greet();
    const replies = await c.option(Option.LIST);
    expect(replies.at(-1)!.type).toBe(Reply.ACK);
    expect(replies.slice(0, -1).map((r) => decodeServerReply(r.data))).toEqual([
      { name: '', description: 'default disk' },
      { name: 'small', description: '' },
      { name: 'ro', description: '' },
    ]);
    expect((await c.option(Option.LIST, Buffer.from('x'))).map((r) => r.type)).toEqual([Reply.ERR_INVALID]);
  });

  it('INFO gives the true size, NAME, DESCRIPTION and BLOCK_SIZE, and GO the same', async () => {
    const c = await client(path);
    await c.greet();
    const request = encodeInfoRequest('', [Info.NAME, Info.DESCRIPTION, Info.BLOCK_SIZE]);
    const info = await c.option(Option.INFO, request);
    expect(info.at(-1)!.type).toBe(Reply.ACK);
    expect(infoOf(info)).toEqual([
      { type: Info.EXPORT, size: 1 << 20, flags: expect.any(Number) as number },
      { type: Info.NAME, text: '' },
      { type: Info.DESCRIPTION, text: 'default disk' },
      { type: Info.BLOCK_SIZE, minimum: 512, preferred: 4096, maximum: 32 << 20 },
    ]);
    const go = await c.option(Option.GO, request);
    expect(infoOf(go)).toEqual(infoOf(info));
  });

  it('reports a 4096-byte device with minimum block size 4096 and its flags', async () => {
    const c = await client(path);
    await c.greet();
    const [exp, , , blockSize] = infoOf(await c.option(Option.INFO, encodeInfoRequest('small', [Info.BLOCK_SIZE])));
    expect(exp).toMatchObject({ size: 32768 });
    expect(blockSize ?? infoOf(await c.option(Option.INFO, encodeInfoRequest('small', []))).at(-1)).toMatchObject({
      minimum: 4096,
      preferred: 4096,
    });
  });

  it('derives transmission flags from supports: read-only exports get READ_ONLY and no write commands', async () => {
    const c = await client(path);
    await c.greet();
    const [rw] = infoOf(await c.option(Option.INFO, encodeInfoRequest('', [])));
    const [ro] = infoOf(await c.option(Option.INFO, encodeInfoRequest('ro', [])));
    const F = TransmissionFlag;
    const rwFlags = (rw as { flags: number }).flags;
    const roFlags = (ro as { flags: number }).flags;
    expect(rwFlags & (F.READ_ONLY | F.SEND_DF)).toBe(0);
    expect(
      rwFlags &
        (F.HAS_FLAGS | F.SEND_FLUSH | F.SEND_FUA | F.SEND_TRIM | F.SEND_WRITE_ZEROES | F.SEND_FAST_ZERO | F.CAN_MULTI_CONN | F.SEND_CACHE),
    ).toBe(
      F.HAS_FLAGS | F.SEND_FLUSH | F.SEND_FUA | F.SEND_TRIM | F.SEND_WRITE_ZEROES | F.SEND_FAST_ZERO | F.CAN_MULTI_CONN | F.SEND_CACHE,
    );
    expect(roFlags & F.READ_ONLY).toBe(F.READ_ONLY);
    expect(roFlags & (F.SEND_TRIM | F.SEND_WRITE_ZEROES | F.SEND_FUA | F.SEND_FAST_ZERO)).toBe(0);
    // DF is offered only once structured replies are on.
    await c.option(Option.STRUCTURED_REPLY);
    const [structured] = infoOf(await c.option(Option.INFO, encodeInfoRequest('', [])));
    expect((structured as { flags: number }).flags & F.SEND_DF).toBe(F.SEND_DF);
  });

  it('answers an unknown export with ERR_UNKNOWN and malformed INFO data with ERR_INVALID, and keeps parsing', async () => {
    const c = await client(path);
    await c.greet();
    expect((await c.option(Option.GO, encodeInfoRequest('nope', []))).map((r) => r.type)).toEqual([Reply.ERR_UNKNOWN]);
    const lying = encodeInfoRequest('', []);
    lying.writeUInt32BE(0xffffffff, 0);
    expect((await c.option(Option.INFO, lying)).map((r) => r.type)).toEqual([Reply.ERR_INVALID]);
    expect((await c.option(Option.INFO, Buffer.alloc(3))).map((r) => r.type)).toEqual([Reply.ERR_INVALID]);
    expect((await c.option(Option.GO, encodeInfoRequest('', []))).at(-1)!.type).toBe(Reply.ACK);
  });

  it('answers unknown and withdrawn options with ERR_UNSUP and skips their data', async () => {
    const c = await client(path);
    await c.greet();
    for (const option of [Option.PEEK_EXPORT, Option.EXTENDED_HEADERS, 0x7fffffff, 0]) {
      expect((await c.option(option, Buffer.alloc(100, 0xaa))).map((r) => r.type)).toEqual([Reply.ERR_UNSUP]);
    }
    expect((await c.option(Option.LIST)).at(-1)!.type).toBe(Reply.ACK);
  });

  it('STARTTLS without TLS configured is ERR_UNSUP', async () => {
    const c = await client(path);
    await c.greet();
    expect((await c.option(Option.STARTTLS)).map((r) => r.type)).toEqual([Reply.ERR_UNSUP]);
  });

  it('STRUCTURED_REPLY is ACKed once; twice or with data is ERR_INVALID', async () => {
    const c = await client(path);
    await c.greet();
    expect((await c.option(Option.STRUCTURED_REPLY, Buffer.alloc(1))).map((r) => r.type)).toEqual([Reply.ERR_INVALID]);
    expect((await c.option(Option.STRUCTURED_REPLY)).map((r) => r.type)).toEqual([Reply.ACK]);
    expect((await c.option(Option.STRUCTURED_REPLY)).map((r) => r.type)).toEqual([Reply.ERR_INVALID]);
  });

  it('meta contexts: need structured replies; LIST matches base: and nothing; SET selects base:allocation only', async () => {
    const c = await client(path);
    await c.greet();
    const set = (queries: string[], name = '') => c.option(Option.SET_META_CONTEXT, encodeMetaContextRequest(name, queries));
    const list = (queries: string[]) => c.option(Option.LIST_META_CONTEXT, encodeMetaContextRequest('', queries));
    expect((await set([BASE_ALLOCATION])).map((r) => r.type)).toEqual([Reply.ERR_INVALID]);
    await c.option(Option.STRUCTURED_REPLY);
    const contexts = (replies: { type: number; data: Buffer }[]) =>
      replies.filter((r) => r.type === Reply.META_CONTEXT).map((r) => decodeMetaContextReply(r.data));
    expect(contexts(await list([]))).toEqual([{ id: 0, name: BASE_ALLOCATION }]);
    expect(contexts(await list(['base:']))).toEqual([{ id: 0, name: BASE_ALLOCATION }]);
    expect(contexts(await list(['qemu:dirty-bitmap:x']))).toEqual([]);
    expect(contexts(await set(['base:']))).toEqual([]);
    const selected = contexts(await set(['x-foo:bar', BASE_ALLOCATION]));
    expect(selected).toHaveLength(1);
    expect(selected[0]!.name).toBe(BASE_ALLOCATION);
    expect(selected[0]!.id).not.toBe(0);
    expect((await set([BASE_ALLOCATION], 'nope')).map((r) => r.type)).toEqual([Reply.ERR_UNKNOWN]);
    const many = Array.from({ length: 200 }, () => BASE_ALLOCATION);
    expect((await set(many)).map((r) => r.type)).toEqual([Reply.ERR_TOO_BIG]);
    const truncated = encodeMetaContextRequest('', [BASE_ALLOCATION]).subarray(0, 10);
    expect((await c.option(Option.SET_META_CONTEXT, truncated)).map((r) => r.type)).toEqual([Reply.ERR_INVALID]);
  });

  it('ABORT is ACKed and the server closes', async () => {
    const c = await client(path);
    await c.greet();
    expect((await c.option(Option.ABORT)).map((r) => r.type)).toEqual([Reply.ACK]);
    expect(await c.closedWithin(2000)).toBe(true);
  });

  it('EXPORT_NAME of a known export sends size and flags without the 124 zeroes (NO_ZEROES)', async () => {
    const c = await client(path);
    await c.greet();
    c.send(encodeOption(Option.EXPORT_NAME, Buffer.from('small')));
    const reply = await c.read(10);
    expect(reply.readBigUInt64BE(0)).toBe(32768n);
    expect(await c.closedWithin(100)).toBe(false);
  });

  it('EXPORT_NAME with the 124 zeroes when NO_ZEROES was not agreed', async () => {
    const c = await client(path);
    await c.greet(1);
    c.send(encodeOption(Option.EXPORT_NAME, Buffer.alloc(0)));
    const reply = await c.read(134);
    expect(reply.readBigUInt64BE(0)).toBe(1n << 20n);
    expect(reply.subarray(10).every((b) => b === 0)).toBe(true);
  });

  it('EXPORT_NAME of an unknown export is a hard disconnect, and the server serves others on', async () => {
    const c = await client(path);
    await c.greet();
    c.send(encodeOption(Option.EXPORT_NAME, Buffer.from('nope')));
    expect(await c.closedWithin(2000)).toBe(true);
    const device = await connect({ path, exportName: 'small' });
    await device.disconnect();
  });

  it('never asked the default device anything for LIST, ABORT, bad options or unknown exports', () => {
    // Only INFO/GO/EXPORT_NAME on '' reach getInfo: the tests above sent 6 of those.
    expect(getInfoCalls).toBe(6);
    expect(errors.filter((e) => !e.message.includes('EXPORT_NAME of an unknown export'))).toEqual([]);
  });
});

describe('guards', () => {
  it('drops a client that sets unknown client flags', async () => {
    const { path } = await serve({ exports: { '': new Ramdisk({ sizeSectors: 64 }) } });
    const c = await client(path);
    await c.greet(0x80000001);
    expect(await c.closedWithin(2000)).toBe(true);
  });

  it('drops a client whose option magic is wrong', async () => {
    const { path } = await serve({ exports: { '': new Ramdisk({ sizeSectors: 64 }) } });
    const c = await client(path);
    await c.greet();
    const bad = encodeOption(Option.LIST);
    bad.writeUInt8(0, 0);
    c.send(bad);
    expect(await c.closedWithin(2000)).toBe(true);
  });

  it('answers a 4 GB option length with ERR_TOO_BIG and disconnects without reading it (CVE-2017-15119)', async () => {
    const { path, server } = await serve({ exports: { '': new Ramdisk({ sizeSectors: 64 }) } });
    const c = await client(path);
    await c.greet();
    const header = encodeOption(Option.GO);
    header.writeUInt32BE(0xffffffff, 12);
    c.send(header);
    expect((await c.readOptionReply()).type).toBe(Reply.ERR_TOO_BIG);
    expect(await c.closedWithin(2000)).toBe(true);
    await waitFor(() => server.connections === 0, 'the server to forget the connection', 2000);
  });

  it('drops clients that do not finish the handshake in time (CVE-2024-7409)', async () => {
    const { path, server } = await serve({ exports: { '': new Ramdisk({ sizeSectors: 64 }) }, limits: { handshakeTimeoutMs: 300 } });
    const silent = await client(path);
    const slow = await client(path);
    await slow.greet();
    await slow.option(Option.LIST);
    expect(await silent.closedWithin(3000)).toBe(true);
    expect(await slow.closedWithin(3000)).toBe(true);
    await waitFor(() => server.connections === 0, 'the server to forget the connection', 2000);
  });

  it('caps connections: the one over the limit is closed at once, the others are served', async () => {
    const { path, server } = await serve({ exports: { '': new Ramdisk({ sizeSectors: 64 }) }, limits: { maxConnections: 2 } });
    const a = await client(path);
    const b = await client(path);
    await a.greet();
    await b.greet();
    const c = await client(path);
    expect(await c.closedWithin(2000)).toBe(true);
    expect(server.connections).toBe(2);
    expect((await a.option(Option.LIST)).at(-1)!.type).toBe(Reply.ACK);
  });

  it('survives truncated frames and disconnects at every point of the handshake', async () => {
    const { path, server, errors } = await serve({ exports: { '': new Ramdisk({ sizeSectors: 64 }) } });
    const go = encodeOption(Option.GO, encodeInfoRequest('', [Info.BLOCK_SIZE]));
    const flags = Buffer.from([0, 0, 0, 3]);
    const script = Buffer.concat([flags, encodeOption(Option.STRUCTURED_REPLY), go]);
    for (let cut = 0; cut < script.length; cut += 3) {
      const c = await client(path);
      await c.read(18);
      c.send(script.subarray(0, cut));
      c.socket.end();
      await c.closedWithin(2000);
    }
    // Half-open: the client stops sending but keeps reading.
    const half = await client(path);
    await half.read(18);
    half.send(flags, encodeOption(Option.LIST).subarray(0, 9));
    half.socket.end();
    expect(await half.closedWithin(2000)).toBe(true);
    const device = await connect({ path });
    await device.disconnect();
    await waitFor(() => server.connections === 0, 'the server to forget the connections', 2000);
    expect(errors.filter((e) => !/closed|ECONNRESET|EPIPE/.test(e.message))).toEqual([]);
  });

  it('does not touch the device until GO/EXPORT_NAME names it, and not at all when TLS is required first (CVE-2019-14850)', async () => {
    const faulty = withFaults(new Ramdisk({ sizeSectors: 64 }), () => false);
    const { path } = await serve({ exports: { '': faulty }, tls: { mode: 'require', psk: { alice: Buffer.alloc(32, 1) } } });
    const c = await client(path);
    await c.greet();
    expect((await c.option(Option.LIST)).map((r) => r.type)).toEqual([Reply.ERR_TLS_REQD]);
    expect((await c.option(Option.INFO, encodeInfoRequest('', []))).map((r) => r.type)).toEqual([Reply.ERR_TLS_REQD]);
    expect((await c.option(Option.GO, encodeInfoRequest('', []))).map((r) => r.type)).toEqual([Reply.ERR_TLS_REQD]);
    expect((await c.option(Option.STRUCTURED_REPLY)).map((r) => r.type)).toEqual([Reply.ERR_TLS_REQD]);
    expect((await c.option(Option.EXTENDED_HEADERS)).map((r) => r.type)).toEqual([Reply.ERR_TLS_REQD]);
    c.send(encodeOption(Option.EXPORT_NAME));
    expect(await c.closedWithin(2000)).toBe(true);
    expect(faulty.counts).toEqual({});
  });

  it('refuses plaintext sent after STARTTLS instead of reading it as TLS (plaintext injection)', async () => {
    const { path, errors } = await serve({
      exports: { '': new Ramdisk({ sizeSectors: 64 }) },
      tls: { mode: 'require', psk: { alice: Buffer.alloc(32, 1) } },
    });
    const c = await client(path);
    await c.greet();
    // STARTTLS and, in the same packet, an injected option the server must not act on.
    c.send(Buffer.concat([encodeOption(Option.STARTTLS), encodeOption(Option.LIST)]));
    expect((await c.readOptionReply()).type).toBe(Reply.ACK);
    expect(await c.closedWithin(2000)).toBe(true);
    expect(errors.some((e) => e.message.includes('plaintext'))).toBe(true);
  });

  it('answers ABORT in require mode before TLS', async () => {
    const { path } = await serve({
      exports: { '': new Ramdisk({ sizeSectors: 64 }) },
      tls: { mode: 'require', psk: { alice: Buffer.alloc(32, 1) } },
    });
    const c = await client(path);
    await c.greet();
    expect((await c.option(Option.ABORT)).map((r) => r.type)).toEqual([Reply.ACK]);
  });

  it('a device that fails getInfo makes GO answer an error, not crash', async () => {
    const broken = withFaults(new Ramdisk({ sizeSectors: 64 }), ({ op }) => op === 'getInfo');
    const { path } = await serve({ exports: { '': broken } });
    const c = await client(path);
    await c.greet();
    const replies = await c.option(Option.GO, encodeInfoRequest('', []));
    expect(replies.map((r) => r.type)).toEqual([Reply.ERR_UNKNOWN]);
    expect(replies[0]!.data.toString()).toContain('injected fault');
  });
});
