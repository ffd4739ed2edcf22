// The sync engine's error mapping: whatever a positioned file call throws reaches the callback as an Error.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { isBlockError } from '@blk/core';
import { afterEach, describe, expect, it } from 'vitest';
import { syncDeviceIo } from '../src/device-io.js';

const original = fs.fdatasyncSync;
afterEach(() => {
  fs.fdatasyncSync = original;
  syncBuiltinESMExports();
});

/** Makes fs.fdatasyncSync throw `value` (for the ESM bindings too). */
function fdatasyncThrows(value: unknown): void {
  fs.fdatasyncSync = () => {
    throw value;
  };
  syncBuiltinESMExports();
}

function datasyncError(): Error | null | undefined {
  let got: Error | null | undefined;
  syncDeviceIo.datasync(-1, (error) => {
    got = error;
  });
  return got;
}

describe('sync engine errors', () => {
  it('passes an Error through as it is', () => {
    const error = Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
    fdatasyncThrows(error);
    expect(datasyncError()).toBe(error);
  });

  it('hands a thrown value whose String() throws to the callback as an IO BlockError, without throwing', () => {
    const hostile = { toString: [] };
    fdatasyncThrows(hostile);
    let got: Error | null | undefined;
    expect(() => (got = datasyncError())).not.toThrow();
    expect(isBlockError(got, 'IO')).toBe(true);
    expect(got?.cause).toBe(hostile);
  });
});
