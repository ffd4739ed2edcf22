import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compare, copy, isBlockError } from '../src/index.js';
import { ArrayDevice } from './helpers/array-device.js';

function garbage(dev: ArrayDevice): void {
  dev.bytes.fill(0xee);
  dev.mapped.fill(1);
}

describe('copy', () => {
  it('copies a dense device and reports monotonic progress in bytes up to the total', async () => {
    const src = new ArrayDevice({ sizeSectors: 5000 });
    src.fill(0, 5000, 3);
    const dst = new ArrayDevice({ sizeSectors: 5000 });
    const progress: number[] = [];
    await copy(src, dst, {
      chunkBytes: 64 * 1024,
      onProgress: (done, total) => {
        expect(total).toBe(5000 * 512);
        progress.push(done);
      },
    });
    expect(Buffer.compare(src.bytes, dst.bytes)).toBe(0);
    expect(progress[0]).toBe(0);
    expect(progress.at(-1)).toBe(5000 * 512);
    for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThanOrEqual(progress[i - 1]!);
  });

  it('skips unmapped runs of a seekable source and zeroes them on the destination', async () => {
    const src = new ArrayDevice({ sizeSectors: 4096, seek: true });
    src.fill(100, 10, 1);
    src.fill(4000, 96, 2);
    const dst = new ArrayDevice({ sizeSectors: 4096, writeZeroes: true });
    garbage(dst);
    await copy(src, dst);
    expect(Buffer.compare(src.bytes, dst.bytes)).toBe(0);
    expect(src.calls.readBytes).toBe(106 * 512);
    expect(dst.calls.writeZeroes).toBeGreaterThan(0);
  });

  it('does not rewrite holes the destination already reads as zero', async () => {
    const src = new ArrayDevice({ sizeSectors: 1024, seek: true });
    src.fill(10, 1, 1);
    const dst = new ArrayDevice({ sizeSectors: 1024, seek: true, writeZeroes: true });
    await copy(src, dst);
    expect(dst.calls.writeZeroes).toBe(0);
    expect(dst.calls.write).toBe(1);
    expect(await compare(src, dst)).toBe(0);
  });

  it.each([
    [512, 4096],
    [4096, 512],
    [1024, 4096],
  ])('copies between sector sizes %i → %i, sparse and dense', async (from, to) => {
    const bytes = 3 * 1024 * 1024 + 8192;
    for (const seek of [true, false]) {
      const src = new ArrayDevice({ sectorSize: from, sizeSectors: bytes / from, seek });
      // Mapped runs that start and end off the destination's sector grid.
      src.fill(1, 1, 9);
      src.fill(bytes / from - 3, 2, 8);
      src.fill(Math.floor(bytes / from / 2) + 1, 3, 7);
      const dst = new ArrayDevice({ sectorSize: to, sizeSectors: bytes / to });
      garbage(dst);
      await copy(src, dst, { chunkBytes: 300_000, concurrency: 3 });
      expect(Buffer.compare(src.bytes, dst.bytes)).toBe(0);
      expect(await compare(src, dst)).toBe(0);
    }
  });

  it('copies onto the start of a larger destination and leaves the rest alone', async () => {
    const src = new ArrayDevice({ sizeSectors: 8, seek: true });
    src.fill(0, 8, 1);
    const dst = new ArrayDevice({ sizeSectors: 16 });
    garbage(dst);
    await copy(src, dst);
    expect(Buffer.compare(src.bytes, dst.bytes.subarray(0, 8 * 512))).toBe(0);
    expect(dst.bytes.subarray(8 * 512).every((b) => b === 0xee)).toBe(true);
  });

  it('refuses a read-only, smaller or misaligned destination before writing', async () => {
    const src = new ArrayDevice({ sizeSectors: 9 });
    src.fill(0, 9, 1);
    const cases: [ArrayDevice, string][] = [
      [new ArrayDevice({ sizeSectors: 9, readOnly: true }), 'READ_ONLY'],
      [new ArrayDevice({ sizeSectors: 8 }), 'INVALID_ARGUMENT'],
      [new ArrayDevice({ sectorSize: 4096, sizeSectors: 4 }), 'INVALID_ARGUMENT'],
    ];
    for (const [dst, code] of cases) {
      const error: unknown = await copy(src, dst).catch((e: unknown) => e);
      expect(isBlockError(error) && error.code).toBe(code);
      expect(dst.calls.write).toBe(0);
    }
  });

  it('rejects with the abort reason and stops issuing requests', async () => {
    const src = new ArrayDevice({ sizeSectors: 8192 });
    src.fill(0, 8192, 1);
    const dst = new ArrayDevice({ sizeSectors: 8192 });
    const controller = new AbortController();
    const reason = new Error('user pressed ^C');
    const promise = copy(src, dst, {
      chunkBytes: 512 * 64,
      signal: controller.signal,
      onProgress: (done) => {
        if (done >= 512 * 64 * 3) controller.abort(reason);
      },
    });
    await expect(promise).rejects.toBe(reason);
    const writes = dst.calls.write;
    expect(writes).toBeLessThan(128);
    await new Promise((r) => setTimeout(r, 10));
    expect(dst.calls.write).toBe(writes);
  });

  it('surfaces a device error and lets no worker run on after rejecting', async () => {
    const src = new ArrayDevice({ sizeSectors: 4096 });
    const dst = new ArrayDevice({ sizeSectors: 4096 });
    let writes = 0;
    const realWrite = dst.write.bind(dst);
    dst.write = async (sector, buffers) => {
      if (++writes === 5) throw new Error('injected');
      return realWrite(sector, buffers);
    };
    await expect(copy(src, dst, { chunkBytes: 64 * 1024 })).rejects.toThrow('injected');
    const after = writes;
    await new Promise((r) => setTimeout(r, 10));
    expect(writes).toBe(after);
  });

  it('reproduces any sparse source exactly (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(512, 1024, 4096),
        fc.constantFrom(512, 4096),
        fc.array(fc.tuple(fc.nat(200), fc.integer({ min: 1, max: 20 })), { maxLength: 8 }),
        fc.integer({ min: 1, max: 40_000 }),
        async (srcSector, dstSector, runs, chunk) => {
          const bytes = 128 * 4096;
          const src = new ArrayDevice({ sectorSize: srcSector, sizeSectors: bytes / srcSector, seek: true });
          for (const [start, len] of runs) {
            const s = start % src.info.sizeSectors;
            src.fill(s, Math.min(len, src.info.sizeSectors - s), start);
          }
          const dst = new ArrayDevice({ sectorSize: dstSector, sizeSectors: bytes / dstSector, seek: true });
          garbage(dst);
          await copy(src, dst, { chunkBytes: chunk, concurrency: 2 });
          expect(Buffer.compare(src.bytes, dst.bytes)).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });
});
