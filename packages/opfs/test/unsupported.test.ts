import { isBlockError } from '@blk/core';
import { describe, expect, it } from 'vitest';
import { openOpfsDevice, removeOpfsDevice } from '../src/index.js';

/** Awaits a rejection and returns its BlockError code (this file also runs in a browser page). */
async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return isBlockError(error) ? error.code : `not a BlockError: ${String(error)}`;
  }
  return 'resolved';
}

// Runs in Node (no OPFS at all) and, through scripts/browser-packages.json, on a Chromium page's
// main thread (OPFS, but no synchronous access handles).
describe('openOpfsDevice outside a dedicated worker', () => {
  it('rejects UNSUPPORTED, naming what is missing', async () => {
    await expect(openOpfsDevice('disk', { sizeSectors: 8 })).rejects.toThrow(/OPFS|Origin Private File System/);
    expect(await codeOf(openOpfsDevice('disk', { sizeSectors: 8 }))).toBe('UNSUPPORTED');
    expect(await codeOf(removeOpfsDevice('disk'))).toBe('UNSUPPORTED');
  });

  it('refuses a bad name, sector size or size before looking for OPFS', async () => {
    for (const name of ['', '.', '..', 'a/b', 'a\\b', 'nul\0', 7]) {
      expect(await codeOf(openOpfsDevice(name as string, { sizeSectors: 8 })), JSON.stringify(name)).toBe('INVALID_ARGUMENT');
    }
    for (const sectorSize of [0, 256, 1000, 131072, 512.5]) {
      expect(await codeOf(openOpfsDevice('disk', { sizeSectors: 8, sectorSize })), String(sectorSize)).toBe('INVALID_ARGUMENT');
    }
    for (const sizeSectors of [-1, 1.5, Number.NaN, 2 ** 53]) {
      expect(await codeOf(openOpfsDevice('disk', { sizeSectors })), String(sizeSectors)).toBe('INVALID_ARGUMENT');
    }
    expect(await codeOf(openOpfsDevice('disk', { sizeSectors: 2 ** 44, sectorSize: 65536 }))).toBe('INVALID_ARGUMENT');
  });
});
