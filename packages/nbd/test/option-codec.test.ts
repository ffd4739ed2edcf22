import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Info, MAX_STRING_BYTES } from '../src/constants.js';
import {
  decodeGreeting,
  decodeInfoReply,
  decodeInfoRequest,
  decodeMetaContextReply,
  decodeMetaContextRequest,
  decodeOptionHeader,
  decodeOptionReplyHeader,
  decodeServerReply,
  decodeString,
  encodeGreeting,
  encodeInfoBlockSize,
  encodeInfoExport,
  encodeInfoRequest,
  encodeInfoString,
  encodeMetaContextReply,
  encodeMetaContextRequest,
  encodeOption,
  encodeOptionReply,
  encodeServerReply,
} from '../src/option-codec.js';

const name = fc.string({ maxLength: 40 }).filter((s) => !s.includes('\0'));

describe('option codec', () => {
  it('round-trips the greeting, option headers and option reply headers', () => {
    expect(decodeGreeting(encodeGreeting())).toBe(3);
    const option = encodeOption(7, Buffer.from('xyz'));
    expect(decodeOptionHeader(option)).toEqual({ option: 7, length: 3 });
    expect(decodeOptionReplyHeader(encodeOptionReply(7, 0x80000006, Buffer.from('no')))).toEqual({
      option: 7,
      type: 0x80000006,
      length: 2,
    });
    const bad = Buffer.from(option);
    bad.writeUInt8(bad.readUInt8(0) ^ 1, 0);
    expect(decodeOptionHeader(bad)).toBeUndefined();
    expect(decodeGreeting(Buffer.alloc(18))).toBeUndefined();
  });

  it('round-trips INFO/GO requests, and refuses every truncation and bad length', () => {
    fc.assert(
      fc.property(name, fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 8 }), (n, infos) => {
        const encoded = encodeInfoRequest(n, infos);
        expect(decodeInfoRequest(encoded)).toEqual({ name: n, infos });
        for (let cut = 0; cut < encoded.length; cut++) expect(decodeInfoRequest(encoded.subarray(0, cut))).toBeUndefined();
        expect(decodeInfoRequest(Buffer.concat([encoded, Buffer.alloc(1)]))).toBeUndefined();
      }),
    );
  });

  it('refuses a 4 GB name length, invalid UTF-8 and NUL in names', () => {
    const huge = Buffer.alloc(10);
    huge.writeUInt32BE(0xffffffff, 0);
    expect(decodeInfoRequest(huge)).toBeUndefined();
    const invalid = Buffer.from([0, 0, 0, 2, 0xc3, 0x28, 0, 0]);
    expect(decodeInfoRequest(invalid)).toBeUndefined();
    expect(decodeString(Buffer.from([0x61, 0, 0x62]))).toBeUndefined();
    expect(decodeString(Buffer.alloc(MAX_STRING_BYTES + 1, 0x61))).toBeUndefined();
    expect(decodeString(Buffer.from('déjà vu'))).toBe('déjà vu');
  });

  it('round-trips meta-context requests, refuses truncations, and counts queries before reading them', () => {
    fc.assert(
      fc.property(name, fc.array(name, { maxLength: 6 }), (n, queries) => {
        const encoded = encodeMetaContextRequest(n, queries);
        expect(decodeMetaContextRequest(encoded, 100)).toEqual({ name: n, queries });
        for (let cut = 0; cut < encoded.length; cut++) expect(decodeMetaContextRequest(encoded.subarray(0, cut), 100)).toBeUndefined();
        if (queries.length > 2) expect(decodeMetaContextRequest(encoded, 2)).toBe('too-big');
      }),
    );
    // A query count the data cannot possibly hold is malformed, not merely too big.
    const lying = encodeMetaContextRequest('', []);
    lying.writeUInt32BE(0xffffffff, 4);
    expect(decodeMetaContextRequest(lying, 100)).toBeUndefined();
  });

  it('round-trips the server-side replies the client decodes', () => {
    expect(decodeInfoReply(encodeInfoExport(2 ** 40, 0x1234))).toEqual({ type: Info.EXPORT, size: 2 ** 40, flags: 0x1234 });
    expect(decodeInfoReply(encodeInfoString(Info.NAME, 'disk'))).toEqual({ type: Info.NAME, text: 'disk' });
    expect(decodeInfoReply(encodeInfoBlockSize({ minimum: 512, preferred: 4096, maximum: 1 << 25 }))).toEqual({
      type: Info.BLOCK_SIZE,
      minimum: 512,
      preferred: 4096,
      maximum: 1 << 25,
    });
    expect(decodeServerReply(encodeServerReply('a', 'the a disk'))).toEqual({ name: 'a', description: 'the a disk' });
    expect(decodeMetaContextReply(encodeMetaContextReply(9, 'base:allocation'))).toEqual({ id: 9, name: 'base:allocation' });
  });

  it('refuses export sizes beyond 2^53 and malformed INFO payloads', () => {
    const big = encodeInfoExport(0, 0);
    big.writeBigUInt64BE(2n ** 60n, 2);
    expect(decodeInfoReply(big)).toBeUndefined();
    expect(decodeInfoReply(encodeInfoExport(1, 1).subarray(0, 11))).toBeUndefined();
    expect(decodeInfoReply(Buffer.from([0, 3, 0, 0]))).toBeUndefined();
    expect(decodeInfoReply(Buffer.from([0]))).toBeUndefined();
    expect(decodeInfoReply(Buffer.from([0x12, 0x34, 1]))).toEqual({ type: 'unknown', info: 0x1234 });
    const lyingServer = Buffer.from([0, 0, 0, 9, 0x61]);
    expect(decodeServerReply(lyingServer)).toBeUndefined();
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (raw) => {
        const bytes = Buffer.from(raw);
        decodeInfoRequest(bytes);
        decodeMetaContextRequest(bytes, 8);
        decodeInfoReply(bytes);
        decodeServerReply(bytes);
        decodeMetaContextReply(bytes);
      }),
    );
  });
});
