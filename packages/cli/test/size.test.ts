import { describe, expect, it } from 'vitest';
import { formatBytes, formatSizeExact, parseSize } from '../src/size.js';

describe('parseSize', () => {
  it.each([
    ['0', 0],
    ['4096', 4096],
    ['512B', 512],
    ['1K', 1024],
    ['1k', 1024],
    ['1KiB', 1024],
    ['64M', 64 * 2 ** 20],
    ['64MiB', 64 * 2 ** 20],
    ['1G', 2 ** 30],
    ['1GiB', 2 ** 30],
    ['1gib', 2 ** 30],
    ['2T', 2 * 2 ** 40],
    ['2TiB', 2 * 2 ** 40],
    ['1P', 2 ** 50],
    ['1.5G', 1.5 * 2 ** 30],
    ['0.5K', 512],
    ['10GB', 10e9],
    ['1KB', 1000],
    ['1MB', 1e6],
    ['1TB', 1e12],
    [' 1 GiB ', 2 ** 30],
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each([
    ['', 'expected a number'],
    ['G', 'expected a number'],
    ['-1G', 'expected a number'],
    ['1.G', 'expected a number'],
    ['1e3', 'expected a number'],
    ['1X', "unknown suffix 'X'"],
    ['1GIBS', "unknown suffix 'GIBS'"],
    ['0.1K', 'not a whole number of bytes'],
    ['1.0000000001G', 'not a whole number of bytes'],
    ['8P', 'larger than 2^53 - 1 bytes'],
    ['99999999999999999999', 'larger than 2^53 - 1 bytes'],
  ])('refuses %j (%s)', (text, why) => {
    expect(() => parseSize(text)).toThrow(why);
  });

  it('takes the largest safe byte count and nothing above', () => {
    expect(parseSize(String(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => parseSize(String(Number.MAX_SAFE_INTEGER + 1))).toThrow('2^53');
  });
});

describe('formatBytes and formatSizeExact', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.00 KiB'],
    [1536, '1.50 KiB'],
    [64 * 2 ** 20, '64.0 MiB'],
    [2 ** 30, '1.00 GiB'],
    [300 * 2 ** 30, '300 GiB'],
    [2 ** 40, '1.00 TiB'],
  ])('formatBytes(%d) is %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it.each([
    [2 ** 30, '1GiB'],
    [1536 * 1024, '1536KiB'],
    [3 * 2 ** 20, '3MiB'],
    [1000, '1000'],
    [512, '512'],
  ])('formatSizeExact(%d) is %s and reads back', (bytes, text) => {
    expect(formatSizeExact(bytes)).toBe(text);
    expect(parseSize(text)).toBe(bytes);
  });
});
