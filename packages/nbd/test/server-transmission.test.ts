// The server's transmission phase driven by hand: replies and chunks as the protocol lays them out,
// pipelining answered out of order, the in-flight caps that pause the socket, device faults,
// hostile requests and disconnects in the middle of a request.
import { supports, type BlockDevice } from '@blk/core';
import { withFaults, withGate, wrapDevice } from '@blk/conformance';
import { Ramdisk } from '@blk/ramdisk';
import { makeTempDir, waitFor } from '@blk/test-kit';
import * as net from 'node:net';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChunkType, Command, CommandFlag, Errno, Option, Reply, ReplyFlag, STATE_HOLE, STATE_ZERO } from '../src/constants.js';
import { encodeInfoRequest, encodeOption } from '../src/option-codec.js';
import { createServer, type ServerLimits } from '../src/index.js';
import { encodeRequest, readU64 } from '../src/transmission-codec.js';
import { RawClient, type RawReply } from './helpers/raw-client.js';
import { useServers } from './helpers/server-fixture.js';

const fixture = useServers('tx');

async function serve(device: BlockDevice, limits: Partial<ServerLimits> = {}) {
  const { server, path, errors } = await fixture.serve({ exports: { '': device }, limits });
  const open = async (options: { structured?: boolean; blockStatus?: boolean } = {}) => {
    const c = await fixture.client(path);
    await c.open('', options);
    return c;
  };
  return { server, path, errors, open };
}

const errorOf = (reply: RawReply) => (reply.kind === 'simple' ? reply.error : reply.payload.readUInt32BE(0));

describe('replies', () => {
  it('answers reads and writes with simple replies when structured replies were not negotiated', async () => {
    const disk = new Ramdisk({ sizeSectors: 256 });
    const { open } = await serve(disk);
    const c = await open({ structured: false, blockStatus: false });
    const data = Buffer.alloc(4096, 0x3c);
    c.request(Command.WRITE, 0, 7, 8192, 4096, data);
    expect(await c.reply()).toEqual({ kind: 'simple', error: 0, cookie: 7 });
    c.request(Command.READ, 0, 8, 8192, 4096);
    const read = await c.reply(4096);
    expect(read).toMatchObject({ kind: 'simple', error: 0, cookie: 8 });
    expect(read.kind === 'simple' && Buffer.compare(read.data!, data)).toBe(0);
    // Errors carry no payload: the next reply follows at once.
    c.request(Command.READ, 0, 9, 1 << 20, 512);
    expect(await c.reply(512)).toEqual({ kind: 'simple', error: Errno.EINVAL, cookie: 9 });
    c.request(Command.FLUSH, 0, 10, 0, 0);
    expect(await c.reply()).toEqual({ kind: 'simple', error: 0, cookie: 10 });
  });

  it('answers a structured read of data as one OFFSET_DATA chunk with DONE', async () => {
    const disk = new Ramdisk({ sizeSectors: 256 });
    await disk.write(0, [new Uint8Array(8192).fill(5)]);
    const { open } = await serve(disk);
    const c = await open();
    c.request(Command.READ, 0, 1, 512, 4096);
    const reply = await c.reply();
    expect(reply).toMatchObject({ kind: 'chunk', type: ChunkType.OFFSET_DATA, flags: ReplyFlag.DONE, cookie: 1 });
    if (reply.kind !== 'chunk') return;
    expect(readU64(reply.payload, 0)).toBe(512);
    expect(reply.payload.subarray(8).every((b) => b === 5)).toBe(true);
  });

  it('answers a large read over holes with OFFSET_HOLE chunks, and with DF as one data chunk', async () => {
    const disk = new Ramdisk({ sizeSectors: 2048 }); // 64 KiB pages
    await disk.write(256, [new Uint8Array(65536).fill(9)]); // [128 KiB, 192 KiB)
    const { open } = await serve(disk);
    const c = await open();
    c.request(Command.READ, 0, 1, 0, 256 << 10);
    const chunks: RawReply[] = [];
    for (;;) {
      const reply = await c.reply();
      chunks.push(reply);
      if (reply.kind === 'chunk' && reply.flags & ReplyFlag.DONE) break;
    }
    const layout = chunks.map((r) =>
      r.kind === 'chunk' && r.type === ChunkType.OFFSET_HOLE
        ? ['hole', readU64(r.payload, 0), r.payload.readUInt32BE(8)]
        : ['data', r.kind === 'chunk' ? readU64(r.payload, 0) : -1, r.kind === 'chunk' ? r.payload.length - 8 : -1],
    );
    expect(layout).toEqual([
      ['hole', 0, 128 << 10],
      ['data', 128 << 10, 64 << 10],
      ['hole', 192 << 10, 64 << 10],
    ]);
    c.request(Command.READ, CommandFlag.DF, 2, 0, 256 << 10);
    const whole = await c.reply();
    expect(whole).toMatchObject({ type: ChunkType.OFFSET_DATA, flags: ReplyFlag.DONE });
    expect(whole.kind === 'chunk' && whole.payload.length).toBe(8 + (256 << 10));
  });

  it('answers a large read from a seekable device that is not sparse with one data chunk, without seeking', async () => {
    const ramdisk = new Ramdisk({ sizeSectors: 2048 });
    await ramdisk.write(256, [new Uint8Array(65536).fill(9)]);
    const seeks: string[] = [];
    const wrapped = wrapDevice(ramdisk, (op, _args, call) => {
      if (op === 'seekMapped' || op === 'seekUnmapped') seeks.push(op);
      return call();
    });
    // What a file device without lseek is: it could only find holes by reading the data.
    const disk = { ...wrapped, supports: supports({ ...ramdisk.supports, sparse: false }) } as BlockDevice;
    const { open } = await serve(disk);
    const c = await open();
    c.request(Command.READ, 0, 1, 0, 256 << 10);
    const reply = await c.reply();
    expect(reply).toMatchObject({ kind: 'chunk', type: ChunkType.OFFSET_DATA, flags: ReplyFlag.DONE });
    if (reply.kind !== 'chunk') return;
    expect(reply.payload.length).toBe(8 + (256 << 10));
    expect(reply.payload.subarray(8 + (128 << 10), 8 + (192 << 10)).every((b) => b === 9)).toBe(true);
    expect(seeks).toEqual([]);
  });

  it('answers BLOCK_STATUS with base:allocation extents, REQ_ONE with one, and refuses it without a selected context', async () => {
    const disk = new Ramdisk({ sizeSectors: 2048 });
    await disk.write(128, [new Uint8Array(512)]);
    const { open } = await serve(disk);
    const c = await open();
    const extents = (reply: RawReply) => {
      if (reply.kind !== 'chunk') throw new Error('expected a chunk');
      const out: [number, number][] = [];
      for (let pos = 4; pos < reply.payload.length; pos += 8)
        out.push([reply.payload.readUInt32BE(pos), reply.payload.readUInt32BE(pos + 4)]);
      return out;
    };
    // Unaligned offsets are fine for block status: the first extent starts exactly there.
    c.request(Command.BLOCK_STATUS, 0, 1, 100, (1 << 20) - 100);
    const all = await c.reply();
    expect(all).toMatchObject({ type: ChunkType.BLOCK_STATUS, flags: ReplyFlag.DONE });
    // Sector 128 lies in the ramdisk's second 64 KiB page: that page is data, the rest holes.
    expect(extents(all)).toEqual([
      [65536 - 100, STATE_HOLE | STATE_ZERO],
      [65536, 0],
      [(1 << 20) - 131072, STATE_HOLE | STATE_ZERO],
    ]);
    c.request(Command.BLOCK_STATUS, CommandFlag.REQ_ONE, 2, 65536, 4096);
    expect(extents(await c.reply())).toEqual([[4096, 0]]);
    c.request(Command.BLOCK_STATUS, CommandFlag.REQ_ONE, 5, 0, 1 << 20);
    expect(extents(await c.reply())).toEqual([[65536, STATE_HOLE | STATE_ZERO]]);
    c.request(Command.BLOCK_STATUS, 0, 3, 0, 0);
    expect(errorOf(await c.reply())).toBe(Errno.EINVAL);
    const plain = await open({ blockStatus: false });
    plain.request(Command.BLOCK_STATUS, 0, 4, 0, 4096);
    const refused = await plain.reply();
    expect(refused).toMatchObject({ kind: 'chunk', type: ChunkType.ERROR });
    expect(errorOf(refused)).toBe(Errno.EINVAL);
  });

  it('refuses unknown commands and flags with EINVAL, accepts CACHE and FUA anywhere', async () => {
    const { open } = await serve(new Ramdisk({ sizeSectors: 64 }));
    const c = await open();
    c.request(42, 0, 1, 0, 512);
    expect(errorOf(await c.reply())).toBe(Errno.EINVAL);
    c.request(Command.WRITE, 0x40, 2, 0, 512, Buffer.alloc(512));
    expect(errorOf(await c.reply())).toBe(Errno.EINVAL);
    c.request(Command.READ, CommandFlag.REQ_ONE, 3, 0, 512);
    expect(errorOf(await c.reply())).toBe(Errno.EINVAL);
    c.request(Command.CACHE, 0, 4, 0, 4096);
    expect(await c.reply()).toEqual({ kind: 'simple', error: 0, cookie: 4 });
    c.request(Command.CACHE, 0, 5, 0, 1 << 20);
    expect(errorOf(await c.reply())).toBe(Errno.EINVAL);
    c.request(Command.FLUSH, CommandFlag.FUA, 6, 0, 0);
    expect(await c.reply()).toEqual({ kind: 'simple', error: 0, cookie: 6 });
  });

  it('maps the errno set: past-end writes ENOSPC, past-end reads/trims EINVAL, misaligned EINVAL, offsets near 2^64 too', async () => {
    const { open } = await serve(new Ramdisk({ sizeSectors: 64 }));
    const c = await open({ structured: false, blockStatus: false });
    const cases: [number, number, number, number][] = [
      [Command.WRITE, 32768, 512, Errno.ENOSPC],
      [Command.WRITE_ZEROES, 32768 - 512, 1024, Errno.ENOSPC],
      [Command.READ, 32768, 512, Errno.EINVAL],
      [Command.TRIM, 32256, 1024, Errno.EINVAL],
      [Command.READ, 100, 512, Errno.EINVAL],
      [Command.WRITE, 512, 100, Errno.EINVAL],
      [Command.WRITE_ZEROES, 512, 100, Errno.EINVAL],
    ];
    for (const [i, [type, offset, length, errno]] of cases.entries()) {
      c.request(type, 0, i, offset, length, type === Command.WRITE ? Buffer.alloc(length) : undefined);
      expect(await c.reply(), `case ${i}`).toEqual({ kind: 'simple', error: errno, cookie: i });
    }
    for (const [cookie, type] of [
      [100, Command.READ],
      [101, Command.WRITE],
    ] as const) {
      const header = encodeRequest(0, type, cookie, 0, 512);
      header.writeUInt32BE(0xffffffff, 16);
      header.writeUInt32BE(0xfffffe00, 20);
      c.send(header);
      if (type === Command.WRITE) c.send(Buffer.alloc(512));
      expect(await c.reply()).toEqual({ kind: 'simple', error: type === Command.WRITE ? Errno.ENOSPC : Errno.EINVAL, cookie });
    }
  });

  it('rounds a misaligned TRIM inward to whole sectors, and FUA makes writes, zeroes and trims flush', async () => {
    const calls: string[] = [];
    const device = wrapDevice(new Ramdisk({ sizeSectors: 64 }), (op, args, call) => {
      if (op !== 'getInfo' && op !== 'read') calls.push(`${op}(${args.map((a) => (Array.isArray(a) ? 'buffers' : String(a))).join(',')})`);
      return call();
    });
    const { open } = await serve(device);
    const c = await open();
    c.request(Command.TRIM, 0, 1, 100, 1500);
    expect(await c.reply()).toEqual({ kind: 'simple', error: 0, cookie: 1 });
    c.request(Command.TRIM, 0, 2, 100, 300);
    expect(await c.reply()).toEqual({ kind: 'simple', error: 0, cookie: 2 });
    c.request(Command.WRITE, CommandFlag.FUA, 3, 0, 512, Buffer.alloc(512, 1));
    await c.reply();
    c.request(Command.WRITE_ZEROES, CommandFlag.FUA | CommandFlag.NO_HOLE, 4, 1024, 1024);
    await c.reply();
    expect(calls).toEqual(['discard(1,2)', 'write(0,buffers)', 'flush()', 'writeZeroes(2,2)', 'flush()']);
  });

  it('FAST_ZERO fails fast with ENOTSUP where zeroing would mean writing, and plain zeroing writes zeroes', async () => {
    const inner = new Ramdisk({ sizeSectors: 64 });
    await inner.write(0, [new Uint8Array(32768).fill(0xff)]);
    // A device with nothing but read, write and flush.
    const plain: BlockDevice = {
      supports: supports({ write: true, flush: true, concurrent: true }),
      getInfo: () => inner.getInfo(),
      read: (s, b) => inner.read(s, b),
      write: (s, b) => inner.write(s, b),
      flush: () => inner.flush(),
      disconnect: () => inner.disconnect(),
    };
    const { open } = await serve(plain);
    const c = await open();
    c.request(Command.WRITE_ZEROES, CommandFlag.FAST_ZERO, 1, 0, 4096);
    const refused = await c.reply();
    expect(errorOf(refused)).toBe(Errno.ENOTSUP);
    const untouched = new Uint8Array(4096);
    await inner.read(0, [untouched]);
    expect(untouched.every((b) => b === 0xff)).toBe(true);
    c.request(Command.WRITE_ZEROES, 0, 2, 0, 4096);
    expect(await c.reply()).toEqual({ kind: 'simple', error: 0, cookie: 2 });
    await inner.read(0, [untouched]);
    expect(untouched.every((b) => b === 0)).toBe(true);
    c.request(Command.TRIM, 0, 3, 0, 4096);
    expect(errorOf(await c.reply())).toBe(Errno.EINVAL);
  });
});

describe('pipelining and limits', () => {
  it('answers pipelined requests in completion order, not request order', async () => {
    const gate = withGate(new Ramdisk({ sizeSectors: 64 }), (op, args) => op === 'read' && args[0] === 0);
    const { open } = await serve(gate.device);
    const c = await open();
    c.request(Command.READ, 0, 1, 0, 512);
    c.request(Command.READ, 0, 2, 4096, 512);
    c.request(Command.WRITE, 0, 3, 8192, 512, Buffer.alloc(512, 1));
    const first = await c.reply();
    const second = await c.reply();
    expect([first.cookie, second.cookie].sort()).toEqual([2, 3]);
    expect(gate.held).toBe(1);
    gate.release();
    expect((await c.reply()).cookie).toBe(1);
  });

  it('stops reading (pauses the socket) at maxInFlightRequests, and resumes when requests finish', async () => {
    const gate = withGate(new Ramdisk({ sizeSectors: 64 }), (op) => op === 'read');
    const { open } = await serve(gate.device, { maxInFlightRequests: 4 });
    const c = await open();
    // One write: all twenty arrive together, so a server that parsed past its limit would have
    // sent more than four to the device before `waitFor` first looks, and held would never be 4.
    c.send(Buffer.concat(Array.from({ length: 20 }, (_, i) => encodeRequest(0, Command.READ, i, (i % 64) * 512, 512))));
    await waitFor(() => gate.held === 4, 'exactly four reads to reach the device');
    // Nothing more is parsed while the four are held.
    expect(gate.held).toBe(4);
    const seen = new Set<number>();
    while (seen.size < 20) {
      gate.release();
      const reply = await c.reply();
      expect(reply).toMatchObject({ kind: 'chunk', type: ChunkType.OFFSET_DATA });
      seen.add(reply.cookie);
    }
    expect(gate.held).toBe(20);
  });

  it('stops reading at maxInFlightBytes too', async () => {
    const gate = withGate(new Ramdisk({ sizeSectors: 2048 }), (op) => op === 'read');
    const { open } = await serve(gate.device, { maxInFlightBytes: 256 << 10, maxPayload: 128 << 10 });
    const c = await open();
    // one write, as above: a server that ignored the byte limit would be past two before `waitFor` looks
    c.send(Buffer.concat(Array.from({ length: 6 }, (_, i) => encodeRequest(CommandFlag.DF, Command.READ, i, 0, 128 << 10))));
    await waitFor(() => gate.held === 2, 'exactly two 128 KiB reads to reach the device');
    expect(gate.held).toBe(2);
    for (let answered = 0; answered < 6; answered++) {
      gate.release();
      await c.reply();
    }
  });

  it('drops a client that sends a WRITE over the maximum payload, without writing anything', async () => {
    const faulty = withFaults(new Ramdisk({ sizeSectors: 2048 }), () => false);
    const { open, errors } = await serve(faulty, { maxPayload: 64 << 10 });
    const c = await open();
    c.request(Command.WRITE, 0, 1, 0, 128 << 10);
    c.send(Buffer.alloc(128 << 10, 1));
    expect(await c.closedWithin(2000)).toBe(true);
    expect(faulty.counts.write).toBeUndefined();
    expect(errors.some((e) => e.message.includes('over the 65536-byte maximum'))).toBe(true);
  });

  it('drops a client whose request magic is wrong', async () => {
    const { open } = await serve(new Ramdisk({ sizeSectors: 64 }));
    const c = await open();
    const bad = encodeRequest(0, Command.READ, 1, 0, 512);
    bad.writeUInt32BE(0x12345678, 0);
    c.send(bad);
    expect(await c.closedWithin(2000)).toBe(true);
  });
});

describe('WRITE payloads received straight into their own buffers', () => {
  const payloadOf = (cookie: number, length: number) =>
    Buffer.from(Uint8Array.from({ length }, (_, i) => (cookie * 37 + i * 13 + (i >> 9)) & 0xff));

  it('a device that keeps the buffers until later sees every payload intact while later requests arrive', async () => {
    const disk = new Ramdisk({ sizeSectors: 8192 });
    const gate = withGate(disk, (op) => op === 'write');
    const { open } = await serve(gate.device);
    const c = await open();
    // Pipelined writes of mixed sizes, one after another on the wire: every one is held at the
    // device (its buffers not yet copied) while the bytes of the next ones are being received.
    const sizes = [512, 1 << 20, 4096, 300 * 512, 65536, 512 * 3];
    let offset = 0;
    for (const [i, size] of sizes.entries()) {
      c.request(Command.WRITE, 0, i + 1, offset, size, payloadOf(i + 1, size));
      offset += size;
    }
    await waitFor(() => gate.waiting === sizes.length, 'every write to reach the device');
    gate.open();
    const cookies: number[] = [];
    for (const _ of sizes) {
      const reply = await c.reply();
      expect(reply).toMatchObject({ kind: 'simple', error: 0 });
      if (reply.kind === 'simple') cookies.push(reply.cookie);
    }
    expect(cookies.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    offset = 0;
    for (const [i, size] of sizes.entries()) {
      const back = new Uint8Array(size);
      await disk.read(offset / 512, [back]);
      expect(Buffer.compare(back, payloadOf(i + 1, size))).toBe(0);
      offset += size;
    }
  });

  it('serveAccepted takes over a socket accepted elsewhere, paused or already reading, and serves it the same way', async () => {
    const temp = makeTempDir('blk-nbd-accepted-');
    try {
      for (const pauseOnConnect of [true, false]) {
        const disk = new Ramdisk({ sizeSectors: 2048 });
        const server = createServer({ exports: { '': disk } });
        const path = join(temp.path, `accepted-${pauseOnConnect}.sock`);
        const served: Promise<void>[] = [];
        const given: net.Socket[] = [];
        // As a socket arriving from another process: handed on in the tick it was made.
        const listener = net.createServer({ pauseOnConnect, allowHalfOpen: true }, (socket) => {
          given.push(socket);
          served.push(server.serveAccepted(socket));
        });
        await new Promise<void>((resolve) => listener.listen(path, resolve));
        const c = await RawClient.connect(path);
        await c.open('');
        const data = payloadOf(3, 65536);
        c.request(Command.WRITE, 0, 1, 4096, data.length, data);
        expect(await c.reply()).toEqual({ kind: 'simple', error: 0, cookie: 1 });
        const back = new Uint8Array(data.length);
        await disk.read(8, [back]);
        expect(Buffer.compare(back, data)).toBe(0);
        // The object given was replaced by one over the same connection (the direct path is in use).
        expect(given.map((socket) => socket.destroyed)).toEqual([true]);
        expect(server.connections).toBe(1);
        c.close();
        await Promise.all(served);
        await server.close();
        await new Promise((resolve) => listener.close(resolve));
      }
    } finally {
      temp.remove();
    }
  });

  it('a payload that arrives a few bytes at a time, the next request right behind it, lands whole', async () => {
    const disk = new Ramdisk({ sizeSectors: 2048 });
    const { open } = await serve(disk);
    const c = await open();
    const first = payloadOf(1, 8192);
    const second = payloadOf(2, 4096);
    const wire = Buffer.concat([
      encodeRequest(0, Command.WRITE, 1, 0, first.length),
      first,
      encodeRequest(0, Command.WRITE, 2, 65536, second.length),
      second,
    ]);
    // Uneven pieces, each handed to the kernel before the next is sent (bounded: under 200 pieces).
    for (let at = 0, step = 1; at < wire.length; at += step, step = (step * 7) % 251 || 1) {
      await new Promise((resolve) => c.socket.write(wire.subarray(at, Math.min(wire.length, at + step)), resolve));
    }
    expect(await c.reply()).toEqual({ kind: 'simple', error: 0, cookie: 1 });
    expect(await c.reply()).toEqual({ kind: 'simple', error: 0, cookie: 2 });
    const back = new Uint8Array(8192);
    await disk.read(0, [back]);
    expect(Buffer.compare(back, first)).toBe(0);
    await disk.read(128, [back.subarray(0, 4096)]);
    expect(Buffer.compare(back.subarray(0, 4096), second)).toBe(0);
  });
});

describe('faults and disconnects', () => {
  it('answers device failures with EIO (simple and structured) and keeps the connection', async () => {
    const disk = new Ramdisk({ sizeSectors: 64 });
    const faulty = withFaults(disk, ({ op, args }) => (op === 'read' || op === 'write') && args[0] === 5);
    const { open } = await serve(faulty);
    for (const structured of [false, true]) {
      const c = await open({ structured, blockStatus: false });
      c.request(Command.READ, 0, 1, 5 * 512, 512);
      const read = await c.reply(512);
      expect(errorOf(read)).toBe(Errno.EIO);
      if (read.kind === 'chunk') expect(read.payload.toString('utf8', 6)).toContain('injected fault');
      c.request(Command.WRITE, 0, 2, 5 * 512, 512, Buffer.alloc(512, 7));
      expect(errorOf(await c.reply())).toBe(Errno.EIO);
      c.request(Command.WRITE, 0, 3, 6 * 512, 512, Buffer.alloc(512, 7));
      expect(errorOf(await c.reply())).toBe(0);
    }
    // The refused write changed nothing.
    const sector5 = new Uint8Array(512);
    await disk.read(5, [sector5]);
    expect(sector5.every((b) => b === 0)).toBe(true);
  });

  it('answers EIO for a device that fails with a value whose String() throws, and reports an Error', async () => {
    const hostile = { toString: [] };
    const device = wrapDevice(new Ramdisk({ sizeSectors: 64 }), (op, args, call) => {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      if (op === 'read' && args[0] === 5) return Promise.reject(hostile);
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      if (op === 'write' && args[0] === 5) throw hostile;
      return call();
    });
    const { open, errors } = await serve(device);
    const c = await open({ structured: true, blockStatus: false });
    c.request(Command.READ, 0, 1, 5 * 512, 512);
    expect(errorOf(await c.reply(512))).toBe(Errno.EIO);
    c.request(Command.WRITE, 0, 2, 5 * 512, 512, Buffer.alloc(512, 7));
    expect(errorOf(await c.reply())).toBe(Errno.EIO);
    c.request(Command.READ, 0, 3, 6 * 512, 512);
    expect(errorOf(await c.reply(512))).toBe(0);
    expect(errors.length).toBe(2);
    for (const error of errors) {
      expect(error).toBeInstanceOf(Error);
      expect(error.cause).toBe(hostile);
    }
  });

  it('applies nothing of a WRITE whose payload never fully arrives, and serves others on', async () => {
    const faulty = withFaults(new Ramdisk({ sizeSectors: 2048 }), () => false);
    const { open, server } = await serve(faulty);
    const c = await open();
    c.request(Command.WRITE, 0, 1, 0, 64 << 10);
    // half the payload handed to the kernel (the write's callback), then the connection dies
    await new Promise((resolve) => c.socket.write(Buffer.alloc(32 << 10, 1), resolve));
    c.close();
    await waitFor(() => server.connections === 0, 'the server to drop the connection');
    expect(faulty.counts.write).toBeUndefined();
    const other = await open();
    other.request(Command.READ, 0, 2, 0, 512);
    expect(await other.reply()).toMatchObject({ kind: 'chunk', cookie: 2 });
  });

  it('finishes requests in flight after DISC, then closes', async () => {
    const gate = withGate(new Ramdisk({ sizeSectors: 64 }), (op) => op === 'read');
    const { open } = await serve(gate.device);
    const c = await open();
    c.request(Command.READ, 0, 1, 0, 512);
    c.request(Command.DISC, 0, 2, 0, 0);
    c.request(Command.READ, 0, 3, 0, 512); // after DISC: ignored
    await waitFor(() => gate.held === 1, 'the read to reach the device');
    expect(await c.closedWithin(100)).toBe(false);
    gate.release();
    expect((await c.reply()).cookie).toBe(1);
    expect(await c.closedWithin(2000)).toBe(true);
    expect(gate.held).toBe(1);
  });

  it('answers requests sent together with the handshake by a client that then half-closed', async () => {
    const disk = new Ramdisk({ sizeSectors: 64 });
    await disk.write(0, [new Uint8Array(512).fill(4)]);
    const { path } = await serve(disk);
    const c = await fixture.client(path);
    await c.read(18);
    c.send(
      Buffer.concat([
        Buffer.from([0, 0, 0, 3]),
        encodeOption(Option.GO, encodeInfoRequest('', [])),
        encodeRequest(0, Command.READ, 5, 0, 512),
        encodeRequest(0, Command.DISC, 6, 0, 0),
      ]),
    );
    c.socket.end();
    let reply = await c.readOptionReply();
    while (reply.type !== Reply.ACK) reply = await c.readOptionReply();
    const read = await c.reply(512);
    expect(read).toMatchObject({ kind: 'simple', error: 0, cookie: 5 });
    expect(read.kind === 'simple' && read.data!.every((b) => b === 4)).toBe(true);
    expect(await c.closedWithin(2000)).toBe(true);
  });

  it('answers what a half-closed client sent, then closes', async () => {
    const { open } = await serve(new Ramdisk({ sizeSectors: 64 }));
    const c = await open();
    c.request(Command.WRITE, 0, 1, 0, 512, Buffer.alloc(512, 2));
    c.request(Command.READ, 0, 2, 0, 512);
    c.socket.end();
    const replies = [await c.reply(), await c.reply()];
    expect(replies.map((r) => r.cookie).sort()).toEqual([1, 2]);
    expect(await c.closedWithin(2000)).toBe(true);
  });

  it('close() lets requests in flight finish, answers the ones received after them ESHUTDOWN, and refuses new connections', async () => {
    const gate = withGate(new Ramdisk({ sizeSectors: 64 }), (op, args) => op === 'read' && args[0] === 0);
    // one request in flight at a time: the second waits, received, in the server's input
    const { open, server, path } = await serve(gate.device, { maxInFlightRequests: 1 });
    const c = await open();
    // one write, so both requests reach the server together before close()
    c.send(Buffer.concat([encodeRequest(0, Command.READ, 1, 0, 512), encodeRequest(0, Command.READ, 2, 512, 512)]));
    await waitFor(() => gate.held === 1, 'the read to reach the device');
    const closing = server.close();
    gate.release();
    const replies = new Map<number, RawReply>();
    while (!c.isClosed && replies.size < 2) {
      const reply = await c.reply().catch(() => undefined);
      if (!reply) break;
      replies.set(reply.cookie, reply);
    }
    await closing;
    expect(replies.get(1)).toMatchObject({ kind: 'chunk', type: ChunkType.OFFSET_DATA });
    // a request the server received is answered, never dropped
    expect(replies.has(2)).toBe(true);
    expect(errorOf(replies.get(2)!)).toBe(Errno.ESHUTDOWN);
    await expect(RawClient.connect(path)).rejects.toThrow();
    await expect(server.listen({ path: join(dirname(path), 'after-close.sock') })).rejects.toThrow(/closed/);
  });
});
