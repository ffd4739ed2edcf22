// Whole-page writes made on the event loop's thread (the native engine's writeNow): which writes
// go inline, what stops them, and that they keep the device's ordering and error promises.
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isBlockError } from '@blk/core';
import { describeWhen, makeTempDir, rejection } from '@blk/test-kit';
import { afterAll, describe, expect, it } from 'vitest';
import { libuvDeviceIo, syncDeviceIo, type DeviceIo } from '../src/device-io.js';
import { openFileDeviceWithIo } from '../src/file-device-open.js';
import { MAX_INLINE_WRITE, WRITE_STALL_MS } from '../src/inline-writes.js';
import { nativeBinding } from '../src/native-binding.js';
import { nativeDeviceIo } from '../src/native-device-io.js';
import { Gate, ScriptedIo } from './helpers/device-io.js';

const temp = makeTempDir('blk-fmap-inline-writes-');
afterAll(() => temp.remove());
let serial = 0;
const PAGE = 4096;

function imageFile(bytes: number): string {
  const path = join(temp.path, `w-${serial++}.img`);
  writeFileSync(path, '');
  truncateSync(path, bytes);
  return path;
}

const native = nativeBinding();
const nativeIo = native && nativeDeviceIo(native);
const noNative = nativeIo ? undefined : 'the @blk/fmap-native addon is not built';

async function nativeDevice(bytes: number, options = {}) {
  const path = imageFile(bytes);
  const io = new ScriptedIo(nativeIo!);
  // The kernel may put a real inline write to sleep (a journal commit, page reclaim on a loaded
  // machine), which would rightly send later writes to the threads; these tests check the routing
  // rules, so the engine reports no sleeps unless a test says otherwise.
  io.writeNowWaitMs = 0;
  const device = await openFileDeviceWithIo(path, options, io);
  return { path, io, device };
}

describeWhen('file device inline writes (native engine)', noNative, () => {
  it('whole pages up to the limit go inline; partial pages, unaligned and larger writes go to the threads', async () => {
    const { path, io, device } = await nativeDevice(4 * MAX_INLINE_WRITE);
    await device.write(0, [new Uint8Array(MAX_INLINE_WRITE / 2).fill(4)]);
    await device.write(8, [new Uint8Array(PAGE).fill(1)]);
    await device.write(16, [new Uint8Array(2048).fill(2), new Uint8Array(2048).fill(3)]);
    await device.write(1, [new Uint8Array(PAGE).fill(5)]); // not page-aligned
    await device.write(40, [new Uint8Array(512).fill(6)]); // part of a page
    await device.write(512, [new Uint8Array(MAX_INLINE_WRITE + PAGE).fill(7)]);
    expect(io.started).toEqual(['writeNow@0', 'writeNow@4096', 'writeNow@8192', 'write@512', 'write@20480', 'write@262144']);
    await device.disconnect();
    const file = readFileSync(path);
    expect([file[0], file[600], file[4200], file[5000], file[8292], file[11192], file[20480], file[21080]]).toEqual([
      4, 5, 5, 1, 2, 3, 6, 4,
    ]);
    expect([file[262143], file[262144], file[262144 + MAX_INLINE_WRITE + PAGE - 1], file[262144 + MAX_INLINE_WRITE + PAGE]]).toEqual([
      0, 7, 7, 0,
    ]);
  });

  it('inlineWrites: false sends every write to the threads', async () => {
    const { io, device } = await nativeDevice(64 * PAGE, { inlineWrites: false });
    await device.write(0, [new Uint8Array(PAGE)]);
    expect(io.writeNowCalls).toBe(0);
    expect(io.started).toEqual(['write@0']);
    await device.disconnect();
  });

  it('a write that slept in the kernel past the stall limit sends the next ones to the threads', async () => {
    const { io, device } = await nativeDevice(64 * PAGE);
    io.writeNowWaitMs = WRITE_STALL_MS + 1;
    await device.write(0, [new Uint8Array(PAGE).fill(1)]);
    io.writeNowWaitMs = 0;
    await device.write(8, [new Uint8Array(PAGE).fill(2)]);
    await device.write(16, [new Uint8Array(PAGE).fill(3)]);
    expect(io.started).toEqual(['writeNow@0', 'write@4096', 'write@8192']);
    expect(io.writeNowCalls).toBe(1);
    await device.disconnect();
  });

  it('an engine that answers "not now" (-1) takes the write on its threads and is asked again; "never" (-2) is not asked again', async () => {
    const { path, io, device } = await nativeDevice(64 * PAGE);
    io.writeNowAnswer = -1;
    await device.write(0, [new Uint8Array(PAGE).fill(1)]);
    await device.write(8, [new Uint8Array(PAGE).fill(2)]);
    expect(io.writeNowCalls).toBe(2);
    io.writeNowAnswer = -2;
    await device.write(16, [new Uint8Array(PAGE).fill(3)]);
    io.writeNowAnswer = undefined;
    await device.write(24, [new Uint8Array(PAGE).fill(4)]);
    expect(io.writeNowCalls).toBe(3);
    expect(io.started).toEqual(['write@0', 'write@4096', 'write@8192', 'write@12288']);
    await device.disconnect();
    expect([
      ...readFileSync(path)
        .subarray(0, 4 * PAGE)
        .filter((_, i) => i % PAGE === 0),
    ]).toEqual([1, 2, 3, 4]);
  });

  it('EIO from an inline write is an IO BlockError; earlier data stays and the device carries on', async () => {
    const { path, io, device } = await nativeDevice(64 * PAGE);
    await device.write(0, [new Uint8Array(PAGE).fill(1)]);
    io.failing.add('writeNow');
    const error = await rejection(device.write(0, [new Uint8Array(PAGE).fill(2)]));
    expect(isBlockError(error, 'IO')).toBe(true);
    expect((error.cause as NodeJS.ErrnoException).code).toBe('EIO');
    io.failing.delete('writeNow');
    await device.write(8, [new Uint8Array(PAGE).fill(3)]);
    await device.flush();
    await device.disconnect();
    const file = readFileSync(path);
    expect(file[0]).toBe(1);
    expect(file[PAGE]).toBe(3);
  });

  it('an inline write waits behind a read in flight over its range, and the read sees the old bytes whole', async () => {
    const { path, io, device } = await nativeDevice(64 * PAGE);
    await device.write(0, [new Uint8Array(2 * PAGE).fill(1)]);
    io.misses = true;
    io.gate = new Gate();
    const seen = new Uint8Array(2 * PAGE);
    const read = device.read(0, [seen]);
    let writeDone = false;
    const written = device.write(8, [new Uint8Array(PAGE).fill(2)]).then(() => (writeDone = true));
    await device.write(32, [new Uint8Array(PAGE).fill(3)]); // elsewhere: inline at once
    for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    expect(writeDone).toBe(false);
    io.gate.open();
    await Promise.all([read, written]);
    expect(seen.every((b) => b === 1)).toBe(true);
    expect(io.started).toEqual(['writeNow@0', 'read@0', 'writeNow@16384', 'write@4096']);
    await device.disconnect();
    expect(readFileSync(path)[PAGE]).toBe(2);
  });
});

const others: { name: string; io: DeviceIo }[] = [
  { name: 'libuv', io: libuvDeviceIo },
  { name: 'sync', io: syncDeviceIo },
];
for (const { name, io: base } of others) {
  describe(`file device on the ${name} engine`, () => {
    it('is asked for an inline write once (it never does them), and writes land', async () => {
      const path = imageFile(64 * PAGE);
      const io = new ScriptedIo(base);
      const device = await openFileDeviceWithIo(path, {}, io);
      for (let i = 0; i < 4; i++) await device.write(8 * i, [new Uint8Array(PAGE).fill(i + 1)]);
      expect(io.writeNowCalls).toBe(1);
      expect(io.started).toEqual(['write@0', 'write@4096', 'write@8192', 'write@12288']);
      await device.disconnect();
      expect([
        ...readFileSync(path)
          .subarray(0, 4 * PAGE)
          .filter((_, i) => i % PAGE === 0),
      ]).toEqual([1, 2, 3, 4]);
    });
  });
}
