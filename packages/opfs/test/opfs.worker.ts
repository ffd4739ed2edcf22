// Runs in a dedicated worker of headless Chromium (see scripts/browser-packages.json): the only
// place OPFS synchronous access handles exist.
import { isBlockError, type BlockDevice } from '@blk/core';
import { describeBlockDevice, expectBlockError, pattern } from '@blk/conformance';
import { describe, expect, it } from 'vitest';
import { openOpfsDevice, removeOpfsDevice, type OpfsOptions } from '../src/index.js';

/** What opened each device, so the suite's reopen can open the same file again. */
const opened = new WeakMap<BlockDevice, { name: string; options: OpfsOptions }>();
let files = 0;

async function open(name: string, options: OpfsOptions): Promise<BlockDevice> {
  const device = await openOpfsDevice(name, options);
  opened.set(device, { name, options });
  return device;
}

/** A new, zeroed file each call. */
function fresh(sizeSectors: number, sectorSize = 512): () => Promise<BlockDevice> {
  return async () => {
    const name = `disk-${files++}`;
    await removeOpfsDevice(name);
    return open(name, { sizeSectors, sectorSize });
  };
}

/** Opens the file behind `device` again, as a new page would: nothing but its name. */
function reopen(device: BlockDevice): Promise<BlockDevice> {
  const { name, options } = opened.get(device)!;
  return open(name, { sectorSize: options.sectorSize ?? 512, ...(options.readOnly ? { readOnly: true } : {}) });
}

/** A zeroed file, closed, then opened read-only. */
function readOnly(sizeSectors: number): () => Promise<BlockDevice> {
  return async () => {
    const name = `read-only-${files++}`;
    await removeOpfsDevice(name);
    await (await openOpfsDevice(name, { sizeSectors })).disconnect();
    return open(name, { readOnly: true });
  };
}

describeBlockDevice('OPFS 512', fresh(256), { reopen, large: fresh((64 << 20) / 512 + 64) });
describeBlockDevice('OPFS 4096', fresh(48, 4096), { reopen });
describeBlockDevice('OPFS read-only', readOnly(64), { reopen });

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return isBlockError(error) ? error.code : `not a BlockError: ${String(error)}`;
  }
}

describe('OPFS device', () => {
  it('keeps unflushed writes and a resize across disconnect and reopen (close writes them)', async () => {
    await removeOpfsDevice('persist');
    const first = await openOpfsDevice('persist', { sizeSectors: 16 });
    const data = pattern(3, 4, 512, 42);
    await first.write(3, [data]);
    await first.resize!(40);
    await first.write(39, [pattern(39, 1, 512, 43)]);
    await first.disconnect();
    const again = await openOpfsDevice('persist');
    expect(await again.getInfo()).toEqual({ readWrite: true, sectorSize: 512, sizeSectors: 40 });
    const got = new Uint8Array(4 * 512);
    await again.read(3, [got]);
    expect(got).toEqual(data);
    const last = new Uint8Array(512);
    await again.read(39, [last]);
    expect(last).toEqual(pattern(39, 1, 512, 43));
    await again.disconnect();
    await removeOpfsDevice('persist');
  });

  it('rejects every call after disconnect with DISCONNECTED, and disconnect stays idempotent', async () => {
    const device = await fresh(8)();
    await device.disconnect();
    await expectBlockError(device.getInfo(), 'DISCONNECTED');
    await expectBlockError(device.read(0, [new Uint8Array(512)]), 'DISCONNECTED');
    await expectBlockError(device.write(0, [new Uint8Array(512)]), 'DISCONNECTED');
    await expectBlockError(device.flush!(), 'DISCONNECTED');
    await expectBlockError(device.writeZeroes!(0, 1), 'DISCONNECTED');
    await expectBlockError(device.resize!(4), 'DISCONNECTED');
    await Promise.all([device.disconnect(), device.disconnect()]);
  });

  it('refuses a second read-write open while the first holds the file, and allows it after', async () => {
    const first = await fresh(8)();
    const { name } = opened.get(first)!;
    expect(await code(openOpfsDevice(name))).toBe('IO');
    expect(await code(removeOpfsDevice(name))).toBe('IO');
    await first.write(0, [pattern(0, 1, 512, 7)]);
    await first.disconnect();
    const second = await openOpfsDevice(name);
    const got = new Uint8Array(512);
    await second.read(0, [got]);
    expect(got).toEqual(pattern(0, 1, 512, 7));
    await second.disconnect();
  });

  it('lets read-only opens share a file', async () => {
    const make = readOnly(8);
    const first = await make();
    const second = await reopen(first);
    expect((await second.getInfo()).readWrite).toBe(false);
    await expectBlockError(second.write(0, [new Uint8Array(512)]), 'READ_ONLY');
    await first.disconnect();
    await second.disconnect();
  });

  it('refuses a missing file without a size, a size that does not match, and a file of partial sectors', async () => {
    await removeOpfsDevice('missing');
    expect(await code(openOpfsDevice('missing'))).toBe('INVALID_ARGUMENT');
    expect(await code(openOpfsDevice('missing', { readOnly: true, sizeSectors: 8 }))).toBe('INVALID_ARGUMENT');
    const device = await fresh(3)();
    const { name } = opened.get(device)!;
    await device.disconnect();
    expect(await code(openOpfsDevice(name, { sizeSectors: 9 }))).toBe('INVALID_ARGUMENT');
    expect(await code(openOpfsDevice(name, { sectorSize: 1024 }))).toBe('INVALID_ARGUMENT');
    const whole = await openOpfsDevice(name, { sizeSectors: 3 });
    expect((await whole.getInfo()).sizeSectors).toBe(3);
    await whole.disconnect();
  });
});
