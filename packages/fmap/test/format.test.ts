import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32, tableCrc32 } from '../src/crc32.js';
import { isFmapError } from '../src/index.js';
import { CONTROL_DATA_CAPACITY, decodeFreePage, decodeSlot, encodeFreePage, encodeHeader, type Header } from '../src/format.js';

const header = (over: Partial<Header> = {}): Header => ({
  blockSize: 4096,
  seq: 4,
  freeHead: 8192,
  freeLength: 3,
  freePages: 1,
  highWater: 65536,
  control: Uint8Array.of(1, 2, 3),
  ...over,
});

describe('CRC-32', () => {
  it('the table fallback agrees with zlib on any input and chaining', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 50 }), (a, b) => {
        const expected = (zlib as { crc32?: (d: Uint8Array, v?: number) => number }).crc32?.(b, crc32(a)) ?? crc32(b, crc32(a));
        expect(tableCrc32(b, tableCrc32(a))).toBe(expected);
      }),
    );
    expect(tableCrc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });
});

describe('header slots', () => {
  it('round-trip, in the slot their commit number belongs to', () => {
    const bytes = encodeHeader(header());
    const state = decodeSlot(bytes, 0);
    expect(state.kind).toBe('valid');
    if (state.kind === 'valid') expect(state.header).toEqual(header());
    expect(decodeSlot(bytes, 1).kind).toBe('corrupt');
    expect(decodeSlot(encodeHeader(header({ control: new Uint8Array(CONTROL_DATA_CAPACITY).fill(9) })), 0).kind).toBe('valid');
  });

  it('any single flipped bit is caught', () => {
    const bytes = encodeHeader(header());
    for (let bit = 0; bit < (64 + 3) * 8; bit++) {
      const copy = bytes.slice();
      copy[bit >> 3]! ^= 1 << (bit & 7);
      expect(decodeSlot(copy, 0).kind, `bit ${bit}`).not.toBe('valid');
    }
  });

  it('never throws on hostile bytes, and garbage is never taken for a header', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), fc.constantFrom(0 as const, 1 as const), (bytes, slot) => {
        expect(decodeSlot(bytes, slot).kind).not.toBe('valid');
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 200 }), (tail) => {
        const bytes = encodeHeader(header());
        bytes.set(tail.subarray(0, 64), 0);
        bytes.set(Buffer.from('BLKFMAP\0', 'latin1'), 0);
        expect(() => decodeSlot(bytes, 0)).not.toThrow();
      }),
    );
  });

  it('rejects a valid checksum over nonsense fields as corrupt, never valid', () => {
    expect(decodeSlot(encodeHeader(header({ highWater: 4097 })), 0).kind).toBe('corrupt');
    expect(decodeSlot(encodeHeader(header({ highWater: 4096 })), 0).kind).toBe('corrupt');
    expect(decodeSlot(encodeHeader(header({ blockSize: 1000 })), 0).kind).toBe('corrupt');
  });
});

describe('free-list pages', () => {
  it('round-trip and refuse pages of another commit', () => {
    const page = encodeFreePage(4096, 7, 12288, [8192, 16384]);
    expect(decodeFreePage(page, 7, 20480)).toEqual({ next: 12288, entries: [8192, 16384] });
    expect(() => decodeFreePage(page, 8, 20480)).toThrow(/commit 7/);
  });

  it('hostile pages only ever throw FmapError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4096, maxLength: 4096 }), fc.boolean(), (bytes, magic) => {
        if (magic) bytes.set(Buffer.from('BLKFREE\0', 'latin1'), 0);
        try {
          decodeFreePage(bytes, 1, 8192);
        } catch (error) {
          expect(isFmapError(error)).toBe(true);
        }
      }),
    );
  });
});
