import { isBlockError, type BlockDevice } from '@blk/core';
import { expectBlockError, pattern, splitSectors, withFaults, withLatency, wrapDevice } from '@blk/conformance';
import { Ramdisk } from '@blk/ramdisk';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { connectPair, type Pair } from './helpers/pair.js';

const pairs: Pair[] = [];
async function pair(...args: Parameters<typeof connectPair>): Promise<Pair> {
  const p = await connectPair(...args);
  pairs.push(p);
  return p;
}
afterEach(async () => {
  for (const p of pairs.splice(0)) await p.close();
});

/** A device without flush and discard (and without the rest of Ramdisk's extras). */
function plain(device: BlockDevice): BlockDevice {
  return {
    supports: { ...device.supports, flush: false, discard: false, discardZeroes: false, writeZeroes: false, resize: false, seek: false },
    getInfo: () => device.getInfo(),
    read: (s, b) => device.read(s, b),
    write: (s, b) => device.write(s, b),
    disconnect: () => device.disconnect(),
  };
}

describe('Blkfront features follow the backend', () => {
  it('flush and discard exist when the backend advertises them, and work', async () => {
    const disk = new Ramdisk({ sizeSectors: 128 });
    const { front } = await pair(disk);
    expect(front.supports).toMatchObject({
      write: true,
      flush: true,
      discard: true,
      concurrent: true,
      discardZeroes: false,
      persistent: false,
    });
    expect(typeof front.flush).toBe('function');
    await front.write(0, [pattern(0, 16, 512)]);
    await front.flush();
    await front.discard(4, 8);
    const out = new Uint8Array(16 * 512);
    await disk.read(0, [out]);
    expect(out.subarray(4 * 512, 12 * 512).every((b) => b === 0)).toBe(true);
    expect(out.subarray(0, 4 * 512)).toEqual(pattern(0, 4, 512));
  });

  it('neither exists for a backend device without them', async () => {
    const { front, store, vbd } = await pair(plain(new Ramdisk({ sizeSectors: 128 })));
    expect(front.supports.flush).toBe(false);
    expect(front.supports.discard).toBe(false);
    expect(typeof front.flush).toBe('undefined');
    expect(typeof front.discard).toBe('undefined');
    expect(store.dump()[`${vbd.backendPath}/feature-flush-cache`]).toBe('0');
    expect(store.dump()[`${vbd.backendPath}/feature-discard`]).toBe('0');
  });

  it('a read-only backend (mode r) makes a read-only device: writes reject READ_ONLY, reads work', async () => {
    const disk = new Ramdisk({ sizeSectors: 64 });
    await disk.write(0, [pattern(0, 8, 512)]);
    const { front, store, vbd } = await pair(disk, { mode: 'r' });
    expect(store.dump()[`${vbd.backendPath}/info`]).toBe('4');
    expect((await front.getInfo()).readWrite).toBe(false);
    expect(front.supports.write).toBe(false);
    expect(typeof front.discard).toBe('undefined');
    await expectBlockError(front.write(0, [new Uint8Array(512)]), 'READ_ONLY');
    const out = new Uint8Array(4096);
    await front.read(0, [out]);
    expect(out).toEqual(pattern(0, 8, 512));
  });

  it('uses indirect requests and persistent grants when both sides agree, and not otherwise', async () => {
    const both = await pair(new Ramdisk({ sizeSectors: 64 }));
    expect(both.front.negotiated).toMatchObject({ indirect: true, maxSegments: 256, persistent: true });
    const direct = await pair(new Ramdisk({ sizeSectors: 64 }), { back: { maxIndirectSegments: 0, persistent: false } });
    expect(direct.front.negotiated).toMatchObject({ indirect: false, maxSegments: 11, persistent: false });
    expect(direct.store.dump()[`${direct.vbd.backendPath}/feature-max-indirect-segments`]).toBeUndefined();
    const frontRefuses = await pair(new Ramdisk({ sizeSectors: 64 }), { front: { persistent: false, maxIndirectSegments: 32 } });
    expect(frontRefuses.front.negotiated).toMatchObject({ indirect: true, maxSegments: 32, persistent: false });
  });

  it('a multi-page ring when asked and offered', async () => {
    const p = await pair(new Ramdisk({ sizeSectors: 64 }), { front: { ringPageOrder: 3 }, back: { maxRingPageOrder: 2 } });
    expect(p.front.negotiated).toMatchObject({ ringPageOrder: 2, ringEntries: 128 });
    const keys = p.store.dump();
    expect(keys[`${p.vbd.frontendPath}/ring-page-order`]).toBe('2');
    expect(keys[`${p.vbd.frontendPath}/ring-ref3`]).toBeDefined();
    expect(keys[`${p.vbd.frontendPath}/ring-ref`]).toBeUndefined();
    const data = pattern(0, 64, 512);
    await p.front.write(0, [data]);
    const out = new Uint8Array(data.length);
    await p.front.read(0, [out]);
    expect(out).toEqual(data);
  });
});

describe('Blkfront carries any request shape', () => {
  const shapes: { sectorSize: number; back: { maxIndirectSegments?: number }; front?: { chunkPages: number } }[] = [
    { sectorSize: 512, back: {} },
    { sectorSize: 512, back: {}, front: { chunkPages: 13 } },
    { sectorSize: 512, back: { maxIndirectSegments: 0 } },
    { sectorSize: 4096, back: {} },
    { sectorSize: 8192, back: { maxIndirectSegments: 0 } },
    { sectorSize: 65536, back: {} },
  ];
  for (const { sectorSize, back, front: frontOptions } of shapes) {
    const variant = `${back.maxIndirectSegments === 0 ? ', direct requests only' : ''}${frontOptions ? `, ${frontOptions.chunkPages}-page requests` : ''}`;
    it(`${sectorSize}-byte sectors${variant}: random sizes and scatter lists match the device`, async () => {
      const sizeBytes = 8 << 20;
      const disk = new Ramdisk({ sizeSectors: sizeBytes / sectorSize, sectorSize });
      const { front } = await pair(disk, { back, ...(frontOptions ? { front: frontOptions } : {}) });
      if (frontOptions) expect(front.negotiated.chunkBytes).toBe(frontOptions.chunkPages * 4096);
      const info = await front.getInfo();
      expect(info).toEqual({ readWrite: true, sectorSize, sizeSectors: sizeBytes / sectorSize });
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: info.sizeSectors - 1 }),
          fc.array(fc.integer({ min: 0, max: Math.max(1, (1536 * 1024) / sectorSize) }), { minLength: 1, maxLength: 5 }),
          fc.integer({ min: 1, max: 1000 }),
          async (start, counts, seed) => {
            const total = counts.reduce((a, b) => a + b, 0);
            const sector = Math.max(0, Math.min(start, info.sizeSectors - total));
            if (sector + total > info.sizeSectors) return;
            const data = pattern(sector, total, sectorSize, seed);
            await front.write(sector, splitSectors(data, sectorSize, counts));
            const direct = new Uint8Array(data.length);
            await disk.read(sector, [direct]);
            expect(Buffer.compare(direct, data)).toBe(0);
            const back = new Uint8Array(data.length).fill(0xee);
            await front.read(sector, splitSectors(back, sectorSize, [...counts].reverse()));
            expect(Buffer.compare(back, data)).toBe(0);
          },
        ),
        { numRuns: 15 },
      );
    });
  }

  it('a sector larger than a direct request cannot be carried without indirect requests', async () => {
    const disk = new Ramdisk({ sizeSectors: 16, sectorSize: 65536 });
    await expectBlockError(connectPair(disk, { back: { maxIndirectSegments: 0 } }), 'UNSUPPORTED');
  });

  it('completes requests out of order and queues more than the ring holds', async () => {
    const disk = new Ramdisk({ sizeSectors: 4096 });
    let seed = 7;
    const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const { front } = await pair(withLatency(disk, { maxMs: 3, random }));
    const writes = Array.from({ length: 200 }, (_, i) => front.write(i * 8, [pattern(i * 8, 8, 512, 3)]));
    await Promise.all(writes);
    const reads = Array.from({ length: 200 }, async (_, i) => {
      const out = new Uint8Array(4096);
      await front.read(i * 8, [out]);
      return Buffer.compare(out, pattern(i * 8, 8, 512, 3));
    });
    expect(await Promise.all(reads)).toEqual(new Array<number>(200).fill(0));
  });

  it('waits for pool pages when many large requests are in flight', async () => {
    const disk = new Ramdisk({ sizeSectors: 65536 });
    const { front } = await pair(disk, { front: { poolPages: 300 } });
    const data = Array.from({ length: 12 }, (_, i) => pattern(i * 2048, 2048, 512, 9));
    await Promise.all(data.map((d, i) => front.write(i * 2048, [d])));
    const back = data.map(() => new Uint8Array(1 << 20));
    await Promise.all(back.map((b, i) => front.read(i * 2048, [b])));
    back.forEach((b, i) => {
      expect(Buffer.compare(b, data[i]!)).toBe(0);
    });
  });

  it('crosses the 2^32 ring index wrap with data intact', async () => {
    const disk = new Ramdisk({ sizeSectors: 256 });
    const { front } = await pair(disk, { front: { ringStart: 0xfffffff0 } });
    for (let i = 0; i < 100; i++) {
      const data = pattern(i % 200, 4, 512, i);
      await Promise.all([front.write(i % 200, [data]), front.read((i + 50) % 200, [new Uint8Array(512)])]);
      const out = new Uint8Array(2048);
      await front.read(i % 200, [out]);
      expect(Buffer.compare(out, data), `round ${i}`).toBe(0);
    }
  });

  it('without persistent grants, every grant is ended after its request', async () => {
    const disk = new Ramdisk({ sizeSectors: 2048 });
    const p = await pair(disk, { front: { persistent: false } });
    const before = p.domain.grants.freeRefs;
    await Promise.all([p.front.write(0, [pattern(0, 2048, 512)]), p.front.read(0, [new Uint8Array(4096)])]);
    expect(p.domain.grants.freeRefs).toBe(before);
  });
});

describe('Blkfront when things go wrong', () => {
  it('a failing backend device fails the request with IO and only that request', async () => {
    const disk = new Ramdisk({ sizeSectors: 256 });
    const faulty = withFaults(disk, ({ op, args }) => op === 'write' && args[0] === 64);
    const { front } = await pair(faulty);
    const results = await Promise.allSettled([
      front.write(0, [new Uint8Array(512)]),
      front.write(64, [new Uint8Array(512)]),
      front.write(128, [new Uint8Array(512)]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const reason = (results[1] as PromiseRejectedResult).reason as unknown;
    expect(isBlockError(reason, 'IO')).toBe(true);
    await front.write(65, [new Uint8Array(512)]);
  });

  it('a large request with one failing part rejects as a whole, and the next ones work', async () => {
    const disk = new Ramdisk({ sizeSectors: 8192 });
    let n = 0;
    const faulty = withFaults(disk, ({ op }) => op === 'write' && n++ === 1);
    const { front } = await pair(faulty);
    await expectBlockError(front.write(0, [new Uint8Array(2 << 20)]), 'IO');
    await front.write(0, [new Uint8Array(2 << 20).fill(1)]);
  });

  it('after disconnect every method rejects DISCONNECTED and disconnect stays quiet', async () => {
    const p = await pair(new Ramdisk({ sizeSectors: 64 }));
    const { front } = p;
    await Promise.all([front.disconnect(), front.disconnect()]);
    await expectBlockError(front.getInfo(), 'DISCONNECTED');
    await expectBlockError(front.read(0, [new Uint8Array(512)]), 'DISCONNECTED');
    await expectBlockError(front.write(0, [new Uint8Array(512)]), 'DISCONNECTED');
    await expectBlockError(front.flush(), 'DISCONNECTED');
    await expectBlockError(front.discard(0, 1), 'DISCONNECTED');
    await front.disconnect();
    expect(p.store.dump()[`${p.vbd.frontendPath}/state`]).toBe('6');
  });

  it('disconnect lets requests in flight finish first', async () => {
    const disk = new Ramdisk({ sizeSectors: 64 });
    const { front } = await pair(withLatency(disk, { maxMs: 20 }));
    const writes = Array.from({ length: 8 }, (_, i) => front.write(i, [new Uint8Array(512).fill(i + 1)]));
    await front.disconnect();
    await Promise.all(writes);
    const out = new Uint8Array(8 * 512);
    await disk.read(0, [out]);
    for (let i = 0; i < 8; i++) expect(out[i * 512]).toBe(i + 1);
  });

  it('a backend that goes away fails what is in flight and what follows with IO', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const disk = new Ramdisk({ sizeSectors: 64 });
    const held = wrapDevice(disk, async (op, _args, call) => {
      if (op === 'read') await gate;
      return call();
    });
    const p = await pair(held);
    const reading = p.front.read(0, [new Uint8Array(512)]);
    const closing = p.service.close();
    release();
    await closing;
    const outcome = await reading.then(
      () => 'resolved',
      (e: unknown) => (isBlockError(e, 'IO') ? 'IO' : String(e)),
    );
    expect(['resolved', 'IO']).toContain(outcome);
    await expectBlockError(p.front.write(0, [new Uint8Array(512)]), 'IO');
  });

  it('follows the backend when the device grows (BlkbackService.refresh)', async () => {
    const disk = new Ramdisk({ sizeSectors: 64 });
    const p = await pair(disk);
    await disk.resize(128);
    await p.service.refresh();
    expect(p.store.dump()[`${p.vbd.backendPath}/sectors`]).toBe('128');
    let info = await p.front.getInfo();
    for (let i = 0; i < 100 && info.sizeSectors !== 128; i++) {
      await new Promise((r) => setImmediate(r));
      info = await p.front.getInfo();
    }
    expect(info.sizeSectors).toBe(128);
    await p.front.write(100, [new Uint8Array(512).fill(3)]);
  });
});
