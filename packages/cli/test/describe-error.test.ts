import { BlockError } from '@blk/core';
import { describe, expect, it } from 'vitest';
import { describeError } from '../src/describe-error.js';

describe('describeError', () => {
  it('names the system error, then a BlockError with its code, then any message', () => {
    const enoent = Object.assign(new Error('ENOENT: open /x'), { code: 'ENOENT' });
    expect(describeError(enoent)).toBe('no such file or directory (ENOENT)');
    expect(describeError(new Error('outer', { cause: enoent }))).toBe('no such file or directory (ENOENT)');
    expect(describeError(BlockError.readOnly())).toBe('device is read-only (READ_ONLY)');
    expect(describeError(new RangeError('too far'))).toBe('too far');
    expect(describeError('text')).toBe('text');
  });

  it('describes a thrown value whose String() throws instead of throwing', () => {
    expect(() => describeError({ toString: [] })).not.toThrow();
    expect(describeError({ toString: [] })).toBe('a thrown value that is not an Error');
  });
});
