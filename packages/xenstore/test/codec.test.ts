import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeDirectory,
  decodeDirectoryPart,
  decodeError,
  decodeOk,
  decodePermissions,
  decodeTransactionId,
  decodeWatchEvent,
  encodeFrame,
  FrameDecoder,
  HEADER_SIZE,
  MessageType,
  PAYLOAD_MAX,
  requests,
  XenstoreError,
  type Frame,
} from '../src/index.js';
import { FrameWriter } from '../src/codec/frame-writer.js';
import { fromLatin1, latin1Slice, oneArg, oneLatin1Arg } from '../src/codec/payload.js';

const frameArb = fc.record({
  type: fc.integer({ min: 0, max: 0xffff_ffff }),
  reqId: fc.integer({ min: 0, max: 0xffff_ffff }),
  txId: fc.integer({ min: 0, max: 0xffff_ffff }),
  payload: fc.uint8Array({ maxLength: PAYLOAD_MAX }),
});

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Splits bytes at the given cut points (sorted, deduplicated, within range). */
function cut(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(start, p));
    start = p;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

describe('frame encoding', () => {
  it('lays out the 16-byte little-endian header', () => {
    const bytes = encodeFrame({ type: 2, reqId: 0x01020304, txId: 7, payload: new Uint8Array([0x61, 0]) });
    expect([...bytes]).toEqual([2, 0, 0, 0, 4, 3, 2, 1, 7, 0, 0, 0, 2, 0, 0, 0, 0x61, 0]);
  });

  it('refuses payloads over 4096 bytes with E2BIG, accepts exactly 4096', () => {
    expect(encodeFrame({ type: 11, reqId: 1, txId: 0, payload: new Uint8Array(PAYLOAD_MAX) }).length).toBe(HEADER_SIZE + PAYLOAD_MAX);
    expect(() => encodeFrame({ type: 11, reqId: 1, txId: 0, payload: new Uint8Array(PAYLOAD_MAX + 1) })).toThrow(
      expect.objectContaining({ code: 'E2BIG' }),
    );
  });

  it('refuses header fields that are not u32', () => {
    for (const bad of [-1, 2 ** 32, 1.5, Number.NaN]) {
      expect(() => encodeFrame({ type: bad, reqId: 0, txId: 0, payload: new Uint8Array() })).toThrow(XenstoreError);
      expect(() => encodeFrame({ type: 0, reqId: bad, txId: 0, payload: new Uint8Array() })).toThrow(XenstoreError);
      expect(() => encodeFrame({ type: 0, reqId: 0, txId: bad, payload: new Uint8Array() })).toThrow(XenstoreError);
    }
  });
});

describe('FrameDecoder', () => {
  it('reassembles any sequence of frames however the bytes are chunked', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 40 }), (frames, cuts) => {
        const stream = concat(frames.map((f) => encodeFrame(f)));
        const decoder = new FrameDecoder();
        const out: Frame[] = [];
        for (const chunk of cut(stream, cuts)) {
          const result = decoder.push(chunk);
          expect(result.error).toBeUndefined();
          out.push(...result.frames);
        }
        expect(out).toEqual(frames);
        expect(decoder.buffered).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it('byte-at-a-time delivery yields each frame exactly when its last byte arrives', () => {
    const frame = encodeFrame({ type: 1, reqId: 9, txId: 3, payload: new TextEncoder().encode('/local\0') });
    const decoder = new FrameDecoder();
    for (let i = 0; i < frame.length - 1; i++) {
      expect(decoder.push(frame.subarray(i, i + 1)).frames).toEqual([]);
      expect(decoder.buffered).toBe(i + 1);
    }
    const { frames } = decoder.push(frame.subarray(frame.length - 1));
    expect(frames).toHaveLength(1);
    expect(frames[0]).toMatchObject({ type: 1, reqId: 9, txId: 3 });
  });

  it('never throws on random bytes, and stops for good after an oversize header', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), (chunks) => {
        const decoder = new FrameDecoder();
        let failed = false;
        for (const chunk of chunks) {
          const result = decoder.push(chunk);
          for (const f of result.frames) expect(f.payload.length).toBeLessThanOrEqual(PAYLOAD_MAX);
          if (failed) expect(result.frames).toEqual([]);
          if (result.error) {
            expect(result.error.code).toBe('E2BIG');
            failed = true;
          }
        }
        expect(decoder.buffered).toBeLessThan(HEADER_SIZE + PAYLOAD_MAX);
      }),
      { numRuns: 300 },
    );
  });

  it('holds a truncated frame without emitting it', () => {
    fc.assert(
      fc.property(frameArb, fc.nat(), (frame, n) => {
        const bytes = encodeFrame(frame);
        const keep = n % bytes.length;
        const decoder = new FrameDecoder();
        const result = decoder.push(bytes.subarray(0, keep));
        expect(result.frames).toEqual([]);
        expect(result.error).toBeUndefined();
        expect(decoder.buffered).toBe(keep);
      }),
    );
  });

  it('refuses a header announcing 4097 bytes but delivers the frames before it', () => {
    const good = encodeFrame({ type: 2, reqId: 1, txId: 0, payload: new Uint8Array([0x2f, 0]) });
    const bad = new Uint8Array(HEADER_SIZE);
    new DataView(bad.buffer).setUint32(12, PAYLOAD_MAX + 1, true);
    const decoder = new FrameDecoder();
    const result = decoder.push(concat([good, bad]));
    expect(result.frames).toHaveLength(1);
    expect(result.error?.code).toBe('E2BIG');
    expect(decoder.error?.code).toBe('E2BIG');
    expect(decoder.push(good)).toMatchObject({ frames: [], error: { code: 'E2BIG' } });
  });

  it('refuses an oversize header that arrives split across chunks', () => {
    const bad = new Uint8Array(HEADER_SIZE);
    new DataView(bad.buffer).setUint32(12, 0xffff_ffff, true);
    const decoder = new FrameDecoder();
    expect(decoder.push(bad.subarray(0, 13)).error).toBeUndefined();
    expect(decoder.push(bad.subarray(13)).error?.code).toBe('E2BIG');
  });

  it('copies payloads: changing the pushed chunk later does not change a decoded frame', () => {
    const bytes = encodeFrame({ type: 2, reqId: 1, txId: 0, payload: new Uint8Array([1, 2, 3]) });
    const { frames } = new FrameDecoder().push(bytes);
    bytes.fill(0xff);
    expect([...frames[0]!.payload]).toEqual([1, 2, 3]);
  });
});

describe('payload shapes', () => {
  const bytes = (s: string) => [...new TextEncoder().encode(s)];

  it('WRITE carries the value unterminated after path\\0', () => {
    expect(requests.write('/a', 'xy')).toEqual({ type: MessageType.WRITE, payload: new Uint8Array(bytes('/a\0xy')) });
    expect([...requests.write('/a', new Uint8Array([0, 1])).payload]).toEqual([...bytes('/a\0'), 0, 1]);
  });

  it('requests are NUL-terminated strings', () => {
    expect([...requests.read('/x').payload]).toEqual(bytes('/x\0'));
    expect([...requests.watch('/x', 'tok').payload]).toEqual(bytes('/x\0tok\0'));
    expect([...requests.watch('/x', 'tok', 1).payload]).toEqual(bytes('/x\0tok\x001\0'));
    expect([...requests.transactionStart().payload]).toEqual([0]);
    expect([...requests.transactionEnd(true).payload]).toEqual(bytes('T\0'));
    expect([...requests.transactionEnd(false).payload]).toEqual(bytes('F\0'));
    expect([
      ...requests.setPerms('/x', [
        { domid: 0, access: 'n' },
        { domid: 5, access: 'r' },
      ]).payload,
    ]).toEqual(bytes('/x\0n0\0r5\0'));
    expect([...requests.introduce(3, 1234, 7).payload]).toEqual(bytes('3\x001234\x007\0'));
    expect([...requests.directoryPart('/x', 10).payload]).toEqual(bytes('/x\x0010\0'));
    expect(requests.restrict(1).type).toBe(20);
  });

  it('OK is exactly OK\\0 (a missing NUL tolerated), anything else is EPROTO', () => {
    expect(() => decodeOk(new Uint8Array(bytes('OK\0')))).not.toThrow();
    expect(() => decodeOk(new Uint8Array(bytes('OK')))).not.toThrow();
    for (const bad of ['', 'OK\0\0', 'ok\0', 'NO\0']) {
      expect(() => decodeOk(new Uint8Array(bytes(bad)))).toThrow(expect.objectContaining({ code: 'EPROTO' }));
    }
  });

  it('an empty DIRECTORY reply is an empty list', () => {
    expect(decodeDirectory(new Uint8Array())).toEqual([]);
    expect(decodeDirectory(new Uint8Array(bytes('a\0bc\0')))).toEqual(['a', 'bc']);
  });

  it('DIRECTORY_PART: generation, slice, and the final slice marker', () => {
    expect(decodeDirectoryPart(new Uint8Array(bytes('17\0a\0b\0')))).toEqual({
      generation: '17',
      children: ['a', 'b'],
      done: false,
      length: 4,
    });
    expect(decodeDirectoryPart(new Uint8Array(bytes('17\0c\0\0')))).toEqual({ generation: '17', children: ['c'], done: true, length: 2 });
    expect(decodeDirectoryPart(new Uint8Array(bytes('17\0\0')))).toEqual({ generation: '17', children: [], done: true, length: 0 });
    expect(() => decodeDirectoryPart(new Uint8Array(bytes('17')))).toThrow(expect.objectContaining({ code: 'EPROTO' }));
  });

  it('decodes permissions, transaction ids, watch events and errors', () => {
    expect(decodePermissions(new Uint8Array(bytes('b0\0r5\0')))).toEqual([
      { domid: 0, access: 'b' },
      { domid: 5, access: 'r' },
    ]);
    expect(() => decodePermissions(new Uint8Array(bytes('x0\0')))).toThrow(expect.objectContaining({ code: 'EPROTO' }));
    expect(decodeTransactionId(new Uint8Array(bytes('42\0')))).toBe(42);
    for (const bad of ['0\0', 'x\0', '\0', '99999999999\0']) {
      expect(() => decodeTransactionId(new Uint8Array(bytes(bad)))).toThrow(expect.objectContaining({ code: 'EPROTO' }));
    }
    expect(decodeWatchEvent(new Uint8Array(bytes('/a/b\0tok\0')))).toEqual({ path: '/a/b', token: 'tok' });
    expect(() => decodeWatchEvent(new Uint8Array(bytes('/a/b\0')))).toThrow(expect.objectContaining({ code: 'EPROTO' }));
    const err = decodeError(new Uint8Array(bytes('ENOENT\0')));
    expect(err).toBeInstanceOf(XenstoreError);
    expect(err.code).toBe('ENOENT');
    expect(decodeError(new Uint8Array(bytes('EQUOTA\0'))).code).toBe('EQUOTA');
  });

  it('reply decoders never throw anything but XenstoreError on random payloads', () => {
    const decoders = [
      decodeOk,
      decodeDirectory,
      decodeDirectoryPart,
      decodePermissions,
      decodeTransactionId,
      decodeWatchEvent,
      decodeError,
    ];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (payload) => {
        for (const decode of decoders) {
          try {
            decode(payload);
          } catch (error) {
            expect(error).toBeInstanceOf(XenstoreError);
          }
        }
      }),
    );
  });
});

describe('fast paths agree with the plain ones', () => {
  const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
  const smallOrLarge = fc.oneof(fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ maxLength: PAYLOAD_MAX }));

  it('FrameWriter lays frames out as encodeFrame does, short and long payloads alike', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ type: u32, reqId: u32, txId: u32, payload: smallOrLarge }), { maxLength: 6 }), (frames) => {
        let out: Uint8Array = new Uint8Array(0);
        const writer = new FrameWriter(
          (bytes) => (out = bytes),
          () => undefined,
        );
        for (const f of frames) writer.push(f.type, f.reqId, f.txId, f.payload);
        writer.flush();
        expect([...out]).toEqual([...concat(frames.map((f) => encodeFrame(f)))]);
      }),
    );
  });

  it('the decoder copies short and long payloads exactly, from Buffers and plain arrays', () => {
    fc.assert(
      fc.property(
        frameArb.map((f) => ({ ...f, payload: f.payload.subarray(0, f.payload.length % 100) })),
        smallOrLarge,
        fc.boolean(),
        (f, g, buffer) => {
          const bytes = concat([encodeFrame(f), encodeFrame({ ...f, payload: g })]);
          const { frames } = new FrameDecoder().push(buffer ? Buffer.from(bytes) : bytes);
          expect(frames.map((x) => [...x.payload])).toEqual([[...f.payload], [...g]]);
        },
      ),
    );
  });

  it('latin1Slice and oneLatin1Arg match fromLatin1 and oneArg', () => {
    fc.assert(
      fc.property(smallOrLarge, fc.nat(), fc.nat(), (bytes, a, b) => {
        const [start, end] = [a % (bytes.length + 1), b % (bytes.length + 1)].sort((x, y) => x - y) as [number, number];
        expect(latin1Slice(bytes, start, end)).toBe(fromLatin1(bytes.subarray(start, end)));
        expect(latin1Slice(bytes, start, end)).toBe(Buffer.from(bytes.subarray(start, end)).toString('latin1'));
        expect(oneLatin1Arg(bytes)).toBe(oneArg(bytes, fromLatin1));
        const arg = concat([bytes.filter((x) => x !== 0), new Uint8Array(1)]);
        expect(oneLatin1Arg(arg)).toBe(oneArg(arg, fromLatin1));
      }),
    );
  });
});
