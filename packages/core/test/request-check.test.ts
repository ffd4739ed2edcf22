import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkRange,
  checkRequest,
  checkResize,
  checkSectorSize,
  checkSeek,
  isBlockError,
  type BlockErrorCode,
  type BlockInfo,
} from '../src/index.js';

const info: BlockInfo = { readWrite: true, sectorSize: 512, sizeSectors: 100 };

function codeOf(fn: () => unknown): BlockErrorCode | 'ok' | 'not a BlockError' {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return isBlockError(e) ? e.code : 'not a BlockError';
  }
}

describe('checkRequest', () => {
  it('returns the sector count of valid requests', () => {
    expect(checkRequest(info, 0, [new Uint8Array(512)])).toBe(1);
    expect(checkRequest(info, 98, [new Uint8Array(512), new Uint8Array(0), new Uint8Array(512)])).toBe(2);
    expect(checkRequest(info, 0, [new Uint8Array(512 * 100)])).toBe(100);
    expect(checkRequest(info, 0, [Buffer.alloc(1024)])).toBe(2);
  });

  it('accepts an empty list at any sector from 0 to the size, and not beyond', () => {
    expect(checkRequest(info, 0, [])).toBe(0);
    expect(checkRequest(info, 100, [])).toBe(0);
    expect(codeOf(() => checkRequest(info, 101, []))).toBe('OUT_OF_RANGE');
  });

  it.each([
    ['NaN', Number.NaN, 'INVALID_ARGUMENT'],
    ['fractional', 1.5, 'INVALID_ARGUMENT'],
    ['Infinity', Number.POSITIVE_INFINITY, 'INVALID_ARGUMENT'],
    ['a string', '1', 'INVALID_ARGUMENT'],
    ['a bigint', 1n, 'INVALID_ARGUMENT'],
    ['undefined', undefined, 'INVALID_ARGUMENT'],
    ['negative', -1, 'OUT_OF_RANGE'],
    ['2^53', 2 ** 53, 'OUT_OF_RANGE'],
    ['-2^53', -(2 ** 53), 'OUT_OF_RANGE'],
    ['the size', 100, 'OUT_OF_RANGE'],
    ['MAX_SAFE_INTEGER', Number.MAX_SAFE_INTEGER, 'OUT_OF_RANGE'],
  ])('rejects a sector that is %s', (_name, sector, code) => {
    expect(codeOf(() => checkRequest(info, sector, [new Uint8Array(512)]))).toBe(code);
  });

  it.each([
    ['sectorSize - 1', [new Uint8Array(511)]],
    ['sectorSize + 1', [new Uint8Array(513)]],
    ['a bad second buffer', [new Uint8Array(512), new Uint8Array(100)]],
    ['an ArrayBuffer', [new ArrayBuffer(512)]],
    ['a plain array', [Array.from({ length: 512 }, () => 0)]],
    ['a DataView', [new DataView(new ArrayBuffer(512))]],
    ['null', [null]],
  ])('rejects buffers of %s with INVALID_BUFFER', (_name, buffers) => {
    expect(codeOf(() => checkRequest(info, 0, buffers))).toBe('INVALID_BUFFER');
  });

  it('rejects a non-array buffer list', () => {
    expect(codeOf(() => checkRequest(info, 0, new Uint8Array(512)))).toBe('INVALID_BUFFER');
    expect(codeOf(() => checkRequest(info, 0, undefined))).toBe('INVALID_BUFFER');
  });

  it('rejects requests that straddle or pass the end', () => {
    expect(codeOf(() => checkRequest(info, 99, [new Uint8Array(1024)]))).toBe('OUT_OF_RANGE');
    expect(codeOf(() => checkRequest(info, 88, [new Uint8Array(512 * 12), new Uint8Array(512)]))).toBe('OUT_OF_RANGE');
  });

  it('never overflows on huge devices (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 0, max: 8 }),
        (size, sector, count) => {
          const big: BlockInfo = { readWrite: true, sectorSize: 512, sizeSectors: size };
          const result = codeOf(() => checkRequest(big, sector, [new Uint8Array(512 * count)]));
          expect(result).toBe(sector + count <= size ? 'ok' : 'OUT_OF_RANGE');
        },
      ),
    );
  });

  it('honours the sector size (4096)', () => {
    const big: BlockInfo = { readWrite: true, sectorSize: 4096, sizeSectors: 10 };
    expect(codeOf(() => checkRequest(big, 0, [new Uint8Array(512)]))).toBe('INVALID_BUFFER');
    expect(checkRequest(big, 9, [new Uint8Array(4096)])).toBe(1);
  });
});

describe('checkRange, checkSeek, checkResize, checkSectorSize', () => {
  it('checkRange accepts count 0 anywhere in [0, size] and checks bounds', () => {
    expect(codeOf(() => checkRange(info, 100, 0))).toBe('ok');
    expect(codeOf(() => checkRange(info, 0, 100))).toBe('ok');
    expect(codeOf(() => checkRange(info, 1, 100))).toBe('OUT_OF_RANGE');
    expect(codeOf(() => checkRange(info, -1, 1))).toBe('OUT_OF_RANGE');
    expect(codeOf(() => checkRange(info, 0, -1))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => checkRange(info, 0, 0.5))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => checkRange(info, 0, 2 ** 53))).toBe('INVALID_ARGUMENT');
  });

  it('checkSeek accepts [0, size]', () => {
    expect(codeOf(() => checkSeek(info, 0))).toBe('ok');
    expect(codeOf(() => checkSeek(info, 100))).toBe('ok');
    expect(codeOf(() => checkSeek(info, 101))).toBe('OUT_OF_RANGE');
    expect(codeOf(() => checkSeek(info, Number.NaN))).toBe('INVALID_ARGUMENT');
  });

  it('checkResize wants a non-negative safe integer', () => {
    expect(codeOf(() => checkResize(0))).toBe('ok');
    expect(codeOf(() => checkResize(2 ** 40))).toBe('ok');
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53, '5']) expect(codeOf(() => checkResize(bad))).toBe('INVALID_ARGUMENT');
  });

  it('checkSectorSize wants a power of two from 512 to 64 KiB', () => {
    for (const good of [512, 1024, 4096, 65536]) expect(codeOf(() => checkSectorSize(good))).toBe('ok');
    for (const bad of [0, 256, 513, 3000, 131072, Number.NaN, '512']) {
      expect(codeOf(() => checkSectorSize(bad))).toBe('INVALID_ARGUMENT');
    }
  });
});
