import type { BlockDevice } from '@blk/core';
import { describeBlockDevice, expectBlockError, pattern } from '@blk/conformance';
import { describe, expect, it } from 'vitest';
import { openOpfsDevice, removeOpfsDevice } from '../src/index.js';
import { MemoryDirectory } from './helpers/memory-directory.js';

// The device's own logic in Node, over an in-memory stand-in for an OPFS directory (the real
// thing runs in Chromium: test/opfs.worker.ts).
const directory = new MemoryDirectory();
const names = new WeakMap<BlockDevice, string>();
let files = 0;

async function fresh(): Promise<BlockDevice> {
  const name = `disk-${files++}`;
  const device = await openOpfsDevice(name, { sizeSectors: 128, directory });
  names.set(device, name);
  return device;
}

describeBlockDevice('OPFS device over an in-memory directory', fresh, {
  reopen: async (device) => {
    const again = await openOpfsDevice(names.get(device)!, { directory });
    names.set(again, names.get(device)!);
    return again;
  },
});

describe('OPFS errors', () => {
  it('turns a DOMException from the handle into a BlockError that names it', async () => {
    const device = await fresh();
    directory.failNext = 'QuotaExceededError';
    await expectBlockError(device.write(0, [pattern(0, 1, 512)]), 'IO');
    directory.failNext = 'QuotaExceededError';
    await expect(device.write(0, [pattern(0, 1, 512)])).rejects.toThrow(/out of storage quota/);
    directory.failNext = 'InvalidStateError';
    await expectBlockError(device.read(0, [new Uint8Array(512)]), 'IO');
    directory.failNext = 'InvalidStateError';
    await expectBlockError(device.flush!(), 'IO');
    const got = new Uint8Array(512);
    await device.read(0, [got]);
    expect(got.every((b) => b === 0)).toBe(true);
    await device.disconnect();
  });

  it('closes the handle when the geometry check refuses the file, so the file is not left locked', async () => {
    const device = await fresh();
    const name = names.get(device)!;
    await device.disconnect();
    await expectBlockError(openOpfsDevice(name, { sizeSectors: 7, directory }), 'INVALID_ARGUMENT');
    await removeOpfsDevice(name, { directory });
    await (await openOpfsDevice(name, { sizeSectors: 3, directory })).disconnect();
    await expectBlockError(openOpfsDevice(name, { sectorSize: 1024, directory }), 'INVALID_ARGUMENT');
    await removeOpfsDevice(name, { directory });
    await removeOpfsDevice(name, { directory });
  });
});
