// The file device's I/O engines: each one under the device (default native, libuv, sync),
// wrapped to miss the page cache, stall, fail with EIO or move short counts.
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isBlockError } from '@blk/core';
import { makeTempDir, rejection } from '@blk/test-kit';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { libuvDeviceIo, syncDeviceIo, type DeviceIo } from '../src/device-io.js';
import { openFileDevice, openFileDeviceWithIo } from '../src/file-device-open.js';
import { nativeBinding } from '../src/native-binding.js';
import { nativeDeviceIo } from '../src/native-device-io.js';
import { Gate, ScriptedIo, type FaultCall } from './helpers/device-io.js';

const temp = makeTempDir('blk-fmap-device-io-');
afterAll(() => temp.remove());
let serial = 0;

function imageFile(bytes: number, fill?: (i: number) => number): string {
  const path = join(temp.path, `io-${serial++}.img`);
  if (fill)
    writeFileSync(
      path,
      Uint8Array.from({ length: bytes }, (_, i) => fill(i)),
    );
  else {
    writeFileSync(path, '');
    truncateSync(path, bytes);
  }
  return path;
}

const pattern = (i: number): number => (i * 7 + (i >> 9)) & 0xff;

/** A device over a patterned image whose reads all miss the page cache and wait at `io.gate`. */
async function heldReadsDevice(base: DeviceIo, sectors: number) {
  const path = imageFile(sectors * 512, pattern);
  const io = new ScriptedIo(base);
  io.misses = true;
  const gate = new Gate();
  io.gate = gate;
  const device = await openFileDeviceWithIo(path, {}, io);
  return { path, io, gate, device };
}

const native = nativeBinding();
const engines: { name: string; make: () => DeviceIo }[] = [
  { name: 'libuv', make: () => libuvDeviceIo },
  { name: 'sync', make: () => syncDeviceIo },
];
const nativeIo = native && nativeDeviceIo(native);
if (nativeIo) engines.unshift({ name: 'native', make: () => nativeIo });

for (const engine of engines) {
  describe(`file device on the ${engine.name} engine`, () => {
    it('reads that miss the page cache go the async way and read the same bytes', async () => {
      const path = imageFile(64 * 512, pattern);
      const io = new ScriptedIo(engine.make());
      io.misses = true;
      const device = await openFileDeviceWithIo(path, {}, io);
      const a = new Uint8Array(1536);
      const b = new Uint8Array(512);
      await device.read(3, [a, b]);
      const file = readFileSync(path);
      expect(Buffer.from(a).equals(file.subarray(1536, 3072))).toBe(true);
      expect(Buffer.from(b).equals(file.subarray(3072, 3584))).toBe(true);
      await device.disconnect();
    });

    it('short reads and writes are continued until every byte moved', async () => {
      const path = imageFile(64 * 512, pattern);
      const io = new ScriptedIo(engine.make());
      io.shortBytes = 700;
      const device = await openFileDeviceWithIo(path, {}, io);
      const data = Uint8Array.from({ length: 4096 }, (_, i) => (i * 13) & 0xff);
      await device.write(8, [data.subarray(0, 1024), data.subarray(1024)]);
      const back = new Uint8Array(4096);
      await device.read(8, [back]);
      expect(Buffer.from(back).equals(data)).toBe(true);
      io.misses = true;
      back.fill(0);
      await device.read(8, [back]);
      expect(Buffer.from(back).equals(data)).toBe(true);
      await device.disconnect();
      expect(readFileSync(path).subarray(4096, 8192).equals(data)).toBe(true);
    });

    it('a read past a file cut short under the device reads zeroes', async () => {
      const path = imageFile(16 * 512, () => 0xee);
      const io = new ScriptedIo(engine.make());
      const device = await openFileDeviceWithIo(path, {}, io);
      truncateSync(path, 4 * 512);
      const buffer = new Uint8Array(2048).fill(1);
      await device.read(3, [buffer]);
      expect(buffer.subarray(0, 512).every((x) => x === 0xee)).toBe(true);
      expect(buffer.subarray(512).every((x) => x === 0)).toBe(true);
      io.misses = true;
      buffer.fill(1);
      await device.read(3, [buffer]);
      expect(buffer.subarray(512).every((x) => x === 0)).toBe(true);
      await device.disconnect();
    });

    it('the event loop keeps turning while a read is outstanding', async () => {
      const { gate, device } = await heldReadsDevice(engine.make(), 16);
      const buffer = new Uint8Array(512);
      let settled = false;
      const read = device.read(5, [buffer]).finally(() => {
        settled = true;
      });
      let ticks = 0;
      while (ticks < 50) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        ticks++;
      }
      expect(settled).toBe(false);
      expect(gate.waiting).toBe(1);
      gate.open();
      await read;
      expect(buffer[0]).toBe(pattern(5 * 512));
      await device.disconnect();
    });

    it('EIO from the engine is an IO BlockError with the system error as cause, and the device carries on', async () => {
      const path = imageFile(16 * 512, pattern);
      const io = new ScriptedIo(engine.make());
      const device = await openFileDeviceWithIo(path, {}, io);
      const calls: [FaultCall, () => Promise<unknown>][] = [
        ['readNow', () => device.read(0, [new Uint8Array(512)])],
        ['read', () => ((io.misses = true), device.read(0, [new Uint8Array(512)]))],
        ['writev', () => device.write(0, [new Uint8Array(512)])],
        ['datasync', () => device.flush()],
        ['truncate', () => device.resize(8)],
      ];
      for (const [call, run] of calls) {
        io.failing.add(call);
        const error = await rejection(run());
        expect(isBlockError(error, 'IO'), call).toBe(true);
        expect((error.cause as NodeJS.ErrnoException).code, call).toBe('EIO');
        io.failing.delete(call);
        io.misses = false;
      }
      expect((await device.getInfo()).sizeSectors).toBe(16);
      await device.write(1, [new Uint8Array(512).fill(9)]);
      const back = new Uint8Array(512);
      await device.read(1, [back]);
      expect(back.every((x) => x === 9)).toBe(true);
      await device.disconnect();
    });

    it('an engine that cannot tell (readNow -2) is not asked again', async () => {
      const path = imageFile(16 * 512, pattern);
      const io = new ScriptedIo(engine.make());
      io.readNowAnswer = -2;
      const device = await openFileDeviceWithIo(path, {}, io);
      const buffer = new Uint8Array(512);
      for (let i = 0; i < 5; i++) {
        await device.read(i, [buffer]);
        expect(buffer[0]).toBe(pattern(i * 512));
      }
      expect(io.readNowCalls).toBe(1);
      await device.disconnect();
    });

    it('disconnect waits for an outstanding read; later calls are DISCONNECTED', async () => {
      const { gate, device } = await heldReadsDevice(engine.make(), 16);
      const buffer = new Uint8Array(512);
      const read = device.read(2, [buffer]);
      let closed = false;
      const closing = device.disconnect().then(() => {
        closed = true;
      });
      for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
      expect(closed).toBe(false);
      gate.open();
      await read;
      await closing;
      expect(buffer[0]).toBe(pattern(1024));
      for (const late of [
        device.read(0, [buffer]),
        device.write(0, [buffer]),
        device.flush(),
        device.getInfo(),
        device.discard(0, 1),
        device.resize(4),
      ]) {
        expect(isBlockError(await rejection(late), 'DISCONNECTED')).toBe(true);
      }
    });

    it('a read overlapping a write in flight waits for it and sees it whole; a read elsewhere does not wait', async () => {
      const path = imageFile(32 * 512, pattern);
      const io = new ScriptedIo(engine.make());
      io.writeGate = new Gate();
      const device = await openFileDeviceWithIo(path, {}, io);
      const written = device.write(4, [new Uint8Array(1024).fill(0xab)]);
      const inside = new Uint8Array(512);
      let insideDone = false;
      const overlapping = device.read(5, [inside]).then(() => (insideDone = true));
      const outside = new Uint8Array(512);
      await device.read(10, [outside]);
      expect(outside[0]).toBe(pattern(10 * 512));
      for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
      expect(insideDone).toBe(false);
      expect(io.started[0]).toBe('write@2048');
      expect(io.started).not.toContain('read@2560');
      io.writeGate.open();
      await Promise.all([written, overlapping]);
      expect(inside.every((b) => b === 0xab)).toBe(true);
      await device.disconnect();
    });

    it('a write or a discard overlapping a read in flight waits for it; disconnect waits for the waiting write', async () => {
      const { path, io, gate, device } = await heldReadsDevice(engine.make(), 32);
      const seen = new Uint8Array(2048);
      const read = device.read(2, [seen]);
      let writeDone = false;
      const written = device.write(5, [new Uint8Array(512).fill(0xcd)]).then(() => (writeDone = true));
      const discarded = device.discard(3, 1);
      let closed = false;
      const closing = device.disconnect().then(() => (closed = true));
      for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
      expect(io.started).toEqual(['read@1024']);
      expect([writeDone, closed]).toEqual([false, false]);
      gate.open();
      await Promise.all([read, written, discarded, closing]);
      // The read saw the disk as it was before either change.
      expect(Buffer.from(seen).equals(Uint8Array.from({ length: 2048 }, (_, i) => pattern(1024 + i)))).toBe(true);
      const file = readFileSync(path);
      expect(file.subarray(5 * 512, 6 * 512).every((b) => b === 0xcd)).toBe(true);
      expect(file.subarray(3 * 512, 4 * 512).every((b) => b === 0)).toBe(true);
    });

    it('matches a byte-array model under random misses, short transfers and stalls', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              write: fc.boolean(),
              sector: fc.integer({ min: 0, max: 31 }),
              count: fc.integer({ min: 1, max: 4 }),
              miss: fc.boolean(),
              short: fc.constantFrom(Infinity, 100, 512, 1000),
              seed: fc.integer({ min: 1, max: 255 }),
            }),
            { minLength: 1, maxLength: 40 },
          ),
          async (steps) => {
            const sectors = 36;
            const path = imageFile(sectors * 512);
            const io = new ScriptedIo(engine.make());
            const device = await openFileDeviceWithIo(path, {}, io);
            const model = new Uint8Array(sectors * 512);
            try {
              // batches of up to 6 requests in flight together, none overlapping another of its batch
              for (let first = 0; first < steps.length; first += 6) {
                const batch = steps
                  .slice(first, first + 6)
                  .filter(
                    (step, i, all) => !all.slice(0, i).some((o) => o.sector < step.sector + step.count && step.sector < o.sector + o.count),
                  );
                io.misses = batch[0]!.miss;
                io.shortBytes = batch[0]!.short;
                await Promise.all(
                  batch.map(async (step) => {
                    const at = step.sector * 512;
                    const bytes = step.count * 512;
                    if (step.write) {
                      const data = Uint8Array.from({ length: bytes }, (_, i) => (i + step.seed) & 0xff);
                      model.set(data, at);
                      await device.write(step.sector, [data.subarray(0, 512), data.subarray(512)]);
                    } else {
                      const want = model.slice(at, at + bytes);
                      const got = new Uint8Array(bytes);
                      await device.read(step.sector, [got]);
                      expect(Buffer.from(got).equals(want)).toBe(true);
                    }
                  }),
                );
              }
              io.misses = false;
              io.shortBytes = Infinity;
              const all = new Uint8Array(sectors * 512);
              await Promise.all([device.read(0, [all.subarray(0, 8192)]), device.read(16, [all.subarray(8192)])]);
              expect(Buffer.from(all).equals(model)).toBe(true);
            } finally {
              await device.disconnect();
            }
          },
        ),
        { numRuns: 25 },
      );
    });
  });
}

describe('file device in its default mode', () => {
  it('a loop of reads that all hit the page cache still lets the event loop turn (timers, signals)', async () => {
    const path = imageFile(64 * 512, pattern);
    const device = await openFileDevice(path);
    const buffer = new Uint8Array(4096);
    await device.read(0, [buffer]); // now in the page cache
    let turns = 0;
    let reads = 0;
    const turn = () => {
      turns++;
    };
    setImmediate(turn);
    // Bounded: stops as soon as the loop has turned once, or after 200,000 reads.
    while (turns === 0 && reads < 200_000) {
      await device.read(0, [buffer]);
      reads++;
    }
    expect(turns).toBe(1);
    await device.disconnect();
  });
});

describe('file device in its default mode, racing overlapping requests', () => {
  it('a read racing overlapping writes never sees a torn sector (300 rounds)', async () => {
    const ss = 512;
    const path = imageFile(1024 * ss);
    const device = await openFileDevice(path);
    const sectorOf = (bytes: Uint8Array, s: number) => bytes.subarray(s * ss, (s + 1) * ss);
    let torn = 0;
    for (let round = 0; round < 300; round++) {
      const base = (round * 11) % 1000;
      const old = new Uint8Array(8 * ss).fill((round % 250) + 1);
      await device.write(base, [old]);
      // Each write covers sectors 3..4 at least; every byte of write i is 100 + i.
      const writes = [
        [0, 8],
        [0, 8],
        [2, 3],
        [3, 4],
      ].map(([at, n], i) => ({ at: at!, data: new Uint8Array(n! * ss).fill(100 + ((round * 4 + i) % 150)) }));
      const reads: Promise<Uint8Array>[] = [];
      const pending: Promise<void>[] = [];
      for (const w of writes) {
        pending.push(device.write(base + w.at, [w.data]));
        const buffer = new Uint8Array(8 * ss);
        reads.push(device.read(base, [buffer]).then(() => buffer));
      }
      const [seen] = await Promise.all([Promise.all(reads), Promise.all(pending)]);
      for (const got of seen) {
        for (let s = 0; s < 8; s++) {
          const candidates = [
            sectorOf(old, s),
            ...writes.filter((w) => s >= w.at && s < w.at + w.data.length / ss).map((w) => sectorOf(w.data, s - w.at)),
          ];
          if (!candidates.some((c) => Buffer.compare(c, sectorOf(got, s)) === 0)) torn++;
        }
      }
    }
    expect(torn).toBe(0);
    await device.disconnect();
  });
});

describe('file device request checks on the fast path', () => {
  it('bad requests are refused before any I/O, and a read-only device refuses writes', async () => {
    const path = imageFile(16 * 512, pattern);
    const io = new ScriptedIo(nativeIo ?? libuvDeviceIo);
    const device = await openFileDeviceWithIo(path, { readOnly: true }, io);
    expect(isBlockError(await rejection(device.read(16, [new Uint8Array(512)])), 'OUT_OF_RANGE')).toBe(true);
    expect(isBlockError(await rejection(device.read(0, [new Uint8Array(100)])))).toBe(true);
    expect(isBlockError(await rejection(device.read(-1, [new Uint8Array(512)])))).toBe(true);
    expect(isBlockError(await rejection(device.write(0, [new Uint8Array(512)])), 'READ_ONLY')).toBe(true);
    expect(io.readNowCalls).toBe(0);
    await device.disconnect();
  });

  it('requests issued during a resize wait for it, then see the new size', async () => {
    const { gate, device } = await heldReadsDevice(nativeIo ?? libuvDeviceIo, 64);
    const first = device.read(40, [new Uint8Array(512)]);
    const resized = device.resize(32);
    const late = device.read(40, [new Uint8Array(512)]);
    const lateWrite = device.write(40, [new Uint8Array(512)]);
    gate.open();
    await first;
    await resized;
    expect(isBlockError(await rejection(late), 'OUT_OF_RANGE')).toBe(true);
    expect(isBlockError(await rejection(lateWrite), 'OUT_OF_RANGE')).toBe(true);
    await device.disconnect();
  });
});
