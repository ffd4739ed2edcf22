// The client against a scripted, misbehaving server: every reply is validated against its request,
// a violation fails the connection (never a hang, never data in the wrong place), an error chunk
// fails only its request, and the handshake and requests are bounded in time.
import { isBlockError } from '@blk/core';
import { makeTempDir } from '@blk/test-kit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ChunkType, Command, Errno, Option, Reply, ReplyFlag, TransmissionFlag } from '../src/constants.js';
import { connect, type NbdDevice } from '../src/index.js';
import { encodeGreeting, encodeInfoBlockSize, encodeInfoExport, encodeOptionReply } from '../src/option-codec.js';
import {
  encodeBlockStatusChunk,
  encodeErrorChunk,
  encodeHoleChunk,
  encodeNoneChunk,
  encodeSimpleReply,
  writeChunkHeader,
  writeDataChunkPrefix,
} from '../src/transmission-codec.js';
import { fakeServer, type FakeConnection } from './helpers/fake-server.js';

let dir: { path: string; remove(): void };
const closers: (() => Promise<void>)[] = [];
const devices: NbdDevice[] = [];
beforeAll(() => {
  dir = makeTempDir('blk-nbd-fake-');
});
afterEach(async () => {
  await Promise.all(devices.splice(0).map((d) => d.disconnect()));
  await Promise.all(closers.splice(0).map((close) => close()));
});
afterAll(() => {
  dir.remove();
});

async function against(script: (c: FakeConnection) => Promise<void>, options: Parameters<typeof connect>[1] = {}): Promise<NbdDevice> {
  const server = await fakeServer(dir.path, script);
  closers.push(() => server.close());
  const device = await connect({ path: server.path, closeGraceMs: 200, ...options });
  devices.push(device);
  return device;
}

async function refused(script: (c: FakeConnection) => Promise<void>, options: Parameters<typeof connect>[1] = {}): Promise<unknown> {
  const server = await fakeServer(dir.path, script);
  closers.push(() => server.close());
  return connect({ path: server.path, ...options }).then(
    () => expect.fail('connect should have failed'),
    (e: unknown) => e,
  );
}

function dataChunk(cookieHi: number, cookieLo: number, offset: number, data: Buffer, done = true): Buffer {
  const out = Buffer.alloc(28 + data.length);
  writeDataChunkPrefix(out, 0, done, cookieHi, cookieLo, offset, data.length);
  data.copy(out, 28);
  return out;
}

const hang = () => new Promise<void>(() => undefined);

describe('handshake validation', () => {
  it('refuses a peer that is not a newstyle NBD server', async () => {
    const error = await refused(async (c) => {
      c.send(Buffer.from('NBDMAGIC\x00\x42\x02\x81\x86\x12\x53\x00\x00'));
      await hang();
    });
    expect(isBlockError(error, 'IO') && error.message).toMatch(/greeting/);
  });

  it('refuses an option reply longer than 64 KiB instead of reading it', async () => {
    const error = await refused(async (c) => {
      c.send(encodeGreeting());
      await c.reader.exact(4 + 16);
      const header = encodeOptionReply(Option.STRUCTURED_REPLY, Reply.ACK);
      header.writeUInt32BE(0xfffffff0, 16);
      c.send(header);
      await hang();
    });
    expect(isBlockError(error, 'IO') && error.message).toMatch(/option reply of/);
  });

  it('refuses a reply to another option than the one asked', async () => {
    const error = await refused(async (c) => {
      c.send(encodeGreeting());
      await c.reader.exact(4 + 16);
      c.send(encodeOptionReply(Option.GO, Reply.ACK));
      await hang();
    });
    expect(isBlockError(error, 'IO') && error.message).toMatch(/reply to option 7/);
  });

  it('refuses export sizes beyond 2^53 and impossible block sizes', async () => {
    const goReplies = (infos: Buffer[]) => async (c: FakeConnection) => {
      await c.handshake({ structured: false, infos });
      await hang();
    };
    const huge = encodeInfoExport(0, 1);
    huge.writeBigUInt64BE(1n << 60n, 2);
    expect(String(await refused(goReplies([huge])))).toMatch(/malformed NBD_REP_INFO/);
    const badSizes = encodeInfoBlockSize({ minimum: 3, preferred: 4096, maximum: 1 << 20 });
    expect(String(await refused(goReplies([encodeInfoExport(1 << 20, 1), badSizes])))).toMatch(/invalid block sizes/);
    expect(String(await refused(goReplies([encodeInfoBlockSize({ minimum: 512, preferred: 4096, maximum: 1 << 20 })])))).toMatch(
      /without NBD_INFO_EXPORT/,
    );
  });

  it('gives up on a server that stalls in the handshake after handshakeTimeoutMs', async () => {
    const error = await refused(
      async (c) => {
        c.send(encodeGreeting());
        await hang();
      },
      { handshakeTimeoutMs: 200 },
    );
    expect(isBlockError(error, 'IO') && error.message).toMatch(/within 200 ms/);
  });

  it('uses the block sizes it was given: 4096-byte sectors and 8 KiB requests', async () => {
    const seen: [number, number][] = [];
    const device = await against(async (c) => {
      await c.handshake({
        structured: false,
        infos: [
          encodeInfoExport(1 << 20, TransmissionFlag.HAS_FLAGS),
          encodeInfoBlockSize({ minimum: 4096, preferred: 4096, maximum: 8192 }),
        ],
      });
      for (;;) {
        const request = await c.request();
        seen.push([request.offset, request.length]);
        c.send(encodeSimpleReply(0, request.cookieHi, request.cookieLo));
      }
    });
    expect(await device.getInfo()).toMatchObject({ sectorSize: 4096, sizeSectors: 256 });
    await device.write(1, [new Uint8Array(20480)]);
    expect(seen.sort((a, b) => a[0] - b[0])).toEqual([
      [4096, 8192],
      [12288, 8192],
      [20480, 4096],
    ]);
  });
});

describe('reply validation', () => {
  /** A server that negotiates normally, then answers each request with `respond`. */
  const replying =
    (respond: (c: FakeConnection, r: Awaited<ReturnType<FakeConnection['request']>>) => void) => async (c: FakeConnection) => {
      await c.handshake({ flags: TransmissionFlag.HAS_FLAGS | TransmissionFlag.SEND_FLUSH | TransmissionFlag.SEND_WRITE_ZEROES });
      for (;;) respond(c, await c.request());
    };

  it('assembles a read from data and hole chunks in any order', async () => {
    const device = await against(
      replying((c, r) => {
        const half = r.length / 2;
        c.send(encodeHoleChunk(false, r.cookieHi, r.cookieLo, r.offset + half, half));
        c.send(dataChunk(r.cookieHi, r.cookieLo, r.offset, Buffer.alloc(half, 0xab), false));
        c.send(encodeNoneChunk(r.cookieHi, r.cookieLo));
      }),
    );
    const target = [new Uint8Array(1024).fill(0xff), new Uint8Array(1024).fill(0xff)];
    await device.read(0, target);
    expect(target[0]!.every((b) => b === 0xab) && target[1]!.every((b) => b === 0)).toBe(true);
  });

  const violations: [string, (c: FakeConnection, r: Awaited<ReturnType<FakeConnection['request']>>) => void, RegExp][] = [
    ['a reply for a cookie not in flight', (c, r) => c.send(encodeSimpleReply(0, r.cookieHi, r.cookieLo + 1000)), /not in flight/],
    ['a bad reply magic', (c) => c.send(Buffer.alloc(16, 0x55)), /bad reply magic/],
    ['data outside the request', (c, r) => c.send(dataChunk(r.cookieHi, r.cookieLo, r.offset + 512, Buffer.alloc(r.length))), /outside/],
    ['a hole of length 0', (c, r) => c.send(encodeHoleChunk(true, r.cookieHi, r.cookieLo, r.offset, 0)), /hole/],
    [
      'a simple reply to a structured READ',
      (c, r) => c.send(encodeSimpleReply(0, r.cookieHi, r.cookieLo), Buffer.alloc(r.length)),
      /simple reply to READ/,
    ],
    [
      'an unknown chunk type',
      (c, r) => {
        const chunk = Buffer.alloc(20);
        writeChunkHeader(chunk, 0, ReplyFlag.DONE, 77, r.cookieHi, r.cookieLo, 0);
        c.send(chunk);
      },
      /unknown chunk type/,
    ],
    [
      'an error chunk whose message overruns it',
      (c, r) => {
        const chunk = encodeErrorChunk(r.cookieHi, r.cookieLo, Errno.EIO, 'boom');
        chunk.writeUInt16BE(500, 24);
        c.send(chunk);
      },
      /malformed error chunk/,
    ],
    [
      'a chunk bigger than any reply can be',
      (c, r) => {
        const chunk = Buffer.alloc(20);
        writeChunkHeader(chunk, 0, ReplyFlag.DONE, ChunkType.OFFSET_DATA, r.cookieHi, r.cookieLo, 0xfffffff0);
        c.send(chunk);
      },
      /reply chunk of/,
    ],
    [
      'a NONE chunk without DONE',
      (c, r) => {
        const chunk = encodeNoneChunk(r.cookieHi, r.cookieLo);
        chunk.writeUInt16BE(0, 4);
        c.send(chunk);
      },
      /NONE chunk/,
    ],
  ];
  for (const [what, respond, message] of violations) {
    it(`fails the connection on ${what}, and every request after it`, async () => {
      const device = await against(replying(respond));
      const error: unknown = await device.read(0, [new Uint8Array(1024)]).catch((e: unknown) => e);
      expect(isBlockError(error, 'IO') && error.message).toMatch(message);
      await expect(device.read(0, [new Uint8Array(512)])).rejects.toMatchObject({ code: 'IO' });
    });
  }

  it('fails only the request when its chunks overlap or leave a gap', async () => {
    let n = 0;
    const device = await against(
      replying((c, r) => {
        n++;
        if (n === 1) {
          c.send(dataChunk(r.cookieHi, r.cookieLo, r.offset, Buffer.alloc(1024), false));
          c.send(dataChunk(r.cookieHi, r.cookieLo, r.offset + 512, Buffer.alloc(512), true));
        } else if (n === 2) {
          c.send(dataChunk(r.cookieHi, r.cookieLo, r.offset, Buffer.alloc(512), true));
        } else {
          c.send(dataChunk(r.cookieHi, r.cookieLo, r.offset, Buffer.alloc(r.length, 1), true));
        }
      }),
    );
    await expect(device.read(0, [new Uint8Array(1024)])).rejects.toThrow(/overlapping/);
    await expect(device.read(0, [new Uint8Array(1024)])).rejects.toThrow(/uncovered/);
    const ok = new Uint8Array(512);
    await device.read(0, [ok]);
    expect(ok[0]).toBe(1);
  });

  it('fails only the request on an error chunk, even an unknown one, with the server message', async () => {
    let n = 0;
    const device = await against(
      replying((c, r) => {
        n++;
        if (n === 1) c.send(encodeErrorChunk(r.cookieHi, r.cookieLo, Errno.ENOSPC, 'disk full'));
        else if (n === 2) {
          const chunk = encodeErrorChunk(r.cookieHi, r.cookieLo, 9999, 'odd');
          chunk.writeUInt16BE(0x8123, 6);
          c.send(chunk);
        } else c.send(encodeSimpleReply(Errno.EPERM, r.cookieHi, r.cookieLo));
      }),
    );
    const full: unknown = await device.write(0, [new Uint8Array(512)]).catch((e: unknown) => e);
    expect(isBlockError(full, 'IO') && full.message).toMatch(/ENOSPC: disk full/);
    await expect(device.write(0, [new Uint8Array(512)])).rejects.toMatchObject({ code: 'IO' });
    await expect(device.write(0, [new Uint8Array(512)])).rejects.toMatchObject({ code: 'READ_ONLY' });
  });

  it('drains a connection whose server answers ESHUTDOWN', async () => {
    const device = await against(replying((c, r) => c.send(encodeErrorChunk(r.cookieHi, r.cookieLo, Errno.ESHUTDOWN, 'bye'))));
    await expect(device.flush!()).rejects.toThrow(/ESHUTDOWN/);
    await expect(device.flush!()).rejects.toMatchObject({ code: 'IO' });
  });

  it('rejects what is in flight when the server drops the connection mid-reply', async () => {
    const device = await against(
      replying((c, r) => {
        c.send(dataChunk(r.cookieHi, r.cookieLo, r.offset, Buffer.alloc(r.length)).subarray(0, 100));
        c.socket.destroy();
      }),
    );
    await expect(device.read(0, [new Uint8Array(4096)])).rejects.toMatchObject({ code: 'IO' });
  });

  it('times out requests the server never answers', async () => {
    const device = await against(
      async (c) => {
        await c.handshake();
        await hang();
      },
      { requestTimeoutMs: 200 },
    );
    await expect(device.read(0, [new Uint8Array(512)])).rejects.toThrow(/within 200 ms/);
  });

  it('checks block status replies: the selected context, nonzero extents', async () => {
    let n = 0;
    const device = await against(
      replying((c, r) => {
        n++;
        if (r.type !== Command.BLOCK_STATUS) return;
        if (n === 1)
          c.send(
            encodeBlockStatusChunk(r.cookieHi, r.cookieLo, 7, [
              { length: 512, flags: 0 },
              { length: 0, flags: 3 },
            ]),
          );
        else c.send(encodeBlockStatusChunk(r.cookieHi, r.cookieLo, 8, [{ length: 512, flags: 0 }]));
      }),
    );
    await expect(device.seekMapped!(0)).rejects.toThrow(/length 0/);
    const again = await against(
      replying((c, r) => {
        if (r.type === Command.BLOCK_STATUS) c.send(encodeBlockStatusChunk(r.cookieHi, r.cookieLo, 8, [{ length: 512, flags: 0 }]));
      }),
    );
    await expect(again.seekMapped!(0)).rejects.toThrow(/context we did not select/);
  });

  it('seeks through extents of any alignment from a server, merging zero runs across replies', async () => {
    // 1 MiB export: [0, 1000) data, [1000, 5000) zero, [5000, 6000) data, rest zero, answered 2 extents at a time.
    const map: [number, number, number][] = [
      [0, 1000, 0],
      [1000, 1500, 3],
      [2500, 2500, 2],
      [5000, 1000, 0],
      [6000, (1 << 20) - 6000, 3],
    ];
    const device = await against(
      replying((c, r) => {
        const from = map.findIndex(([start, length]) => r.offset >= start && r.offset < start + length);
        const extents = map
          .slice(from, from + 2)
          .map(([start, length, flags], i) => ({ length: i === 0 ? start + length - r.offset : length, flags }));
        c.send(encodeBlockStatusChunk(r.cookieHi, r.cookieLo, 7, extents));
      }),
    );
    expect(await device.seekUnmapped!(0)).toBe(2); // sectors 2..8 lie in [1000, 5000)
    expect(await device.seekMapped!(2)).toBe(9); // 5000 is in sector 9
    expect(await device.seekUnmapped!(9)).toBe(12); // 6000 → first whole zero sector 12
    expect(await device.seekMapped!(12)).toBe(2048);
    expect(await device.seekUnmapped!(2047)).toBe(2047);
  });
});
