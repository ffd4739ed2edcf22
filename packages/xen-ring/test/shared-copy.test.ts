import { sameBytes } from '@blk/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copyBytesInto } from '../src/shared-copy.js';

const memory = (shared: boolean, size: number) => new Uint8Array(shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size));

describe('copyBytesInto', () => {
  it('copies exactly what set copies, between shared and ordinary memory, at any offset and length', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 0, max: 70_000 }),
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        (sharedSource, sharedTarget, length, from, at, seed) => {
          const source = memory(sharedSource, from + length + 7);
          for (let i = 0; i < source.length; i++) source[i] = (seed + i * 131) & 0xff;
          const target = memory(sharedTarget, at + length + 9).fill(0xee);
          const expected = new Uint8Array(target.length).fill(0xee);
          const piece = source.subarray(from, from + length);
          expected.set(piece, at);
          copyBytesInto(target, at, piece);
          expect(sameBytes(target, expected)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('copies overlapping views of one buffer as set does (memmove, not memcpy)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40_000 }),
        fc.integer({ min: 0, max: 9000 }),
        fc.integer({ min: 0, max: 9000 }),
        (n, from, at) => {
          const bytes = memory(true, Math.max(from, at) + n);
          for (let i = 0; i < bytes.length; i++) bytes[i] = i & 0xff;
          const expected = Uint8Array.from(bytes);
          expected.set(expected.subarray(from, from + n), at);
          copyBytesInto(bytes, at, bytes.subarray(from, from + n));
          expect(sameBytes(Uint8Array.from(bytes), expected)).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('rejects a target without room, as set does', () => {
    expect(() => copyBytesInto(memory(false, 10), 5, memory(true, 6))).toThrow(RangeError);
  });
});
