// The cache, coalescing and read-ahead against the simplest model there is: the file's bytes.
// Random batches of concurrent reads, random device settings, random server faults: every read
// gives the file's bytes, and the server sees no more requests (and no more at once) than allowed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HttpOptions } from '../src/index.js';
import { TRANSPORTS } from './helpers/transports.js';
import { bytesSource, patternBytes } from './helpers/image-source.js';
import { useRangeServer, type Action } from './helpers/range-server.js';

const server = useRangeServer();

interface Settings {
  readonly blockSize: number;
  readonly maxRequestBlocks: number;
  readonly cacheBlocks: number;
  readonly readahead: number;
  readonly concurrency: number;
}

const settings: fc.Arbitrary<Settings> = fc.record({
  blockSize: fc.constantFrom(512, 4096, 16384),
  maxRequestBlocks: fc.integer({ min: 1, max: 8 }),
  cacheBlocks: fc.integer({ min: 0, max: 40 }),
  readahead: fc.constantFrom(0, 8192, 65536),
  concurrency: fc.integer({ min: 1, max: 4 }),
});

/** A read: where (in sectors) and how it is split into buffers (in sectors). */
const read = fc.record({ sector: fc.nat(), parts: fc.array(fc.integer({ min: 0, max: 24 }), { minLength: 1, maxLength: 3 }) });
const batches = fc.array(fc.array(read, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 8 });
const faults = fc.array(fc.constantFrom<Action>('drop', { status: 500 }, { status: 503, retryAfter: '0' }, { dropAfter: 700 }), {
  maxLength: 4,
});

describe.each(TRANSPORTS)('over $name', ({ connect }) => {
  async function check(
    sizeBytes: number,
    s: Settings,
    reads: { sector: number; parts: number[] }[][],
    script: Action[],
  ): Promise<{ requests: number; distinctBlocks: number; maxActive: number }> {
    const bytes = patternBytes(sizeBytes, sizeBytes);
    const { url, image } = server.current.add(bytesSource(bytes));
    const options: HttpOptions = {
      blockSize: s.blockSize,
      maxRequestBytes: s.blockSize * s.maxRequestBlocks,
      cacheBytes: s.blockSize * s.cacheBlocks,
      readahead: s.readahead,
      concurrency: s.concurrency,
      retries: 8,
      retryDelayMs: 0,
    };
    const device = await connect(url, options);
    const sizeSectors = Math.ceil(sizeBytes / 512);
    const model = new Uint8Array(sizeSectors * 512);
    model.set(bytes);
    const touched = new Set<number>();
    image.maxActive = 0;
    image.script.push(...script);
    try {
      for (const batch of reads) {
        await Promise.all(
          batch.map(async ({ sector: s0, parts }) => {
            const total = parts.reduce((a, b) => a + b, 0);
            const sector = s0 % Math.max(1, sizeSectors - total + 1);
            if (sector + total > sizeSectors) return;
            const buffers = parts.map((n) => new Uint8Array(n * 512).fill(0xa5));
            await device.read(sector, buffers);
            let at = sector * 512;
            for (const buffer of buffers) {
              expect(Buffer.compare(buffer, model.subarray(at, at + buffer.byteLength)), `bytes at ${at}`).toBe(0);
              at += buffer.byteLength;
            }
            const first = Math.floor((sector * 512) / s.blockSize);
            for (let b = first; b * s.blockSize < Math.min(at, sizeBytes); b++) touched.add(b);
          }),
        );
      }
      return { requests: device.stats.requests, distinctBlocks: touched.size, maxActive: image.maxActive };
    } finally {
      await device.disconnect();
    }
  }

  describe('random reads against the file as a model', () => {
    it('give the file bytes under any settings, concurrency and transient faults; never more requests at once than `concurrency`', async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 200_000 }), settings, batches, faults, async (size, s, reads, script) => {
          const { maxActive } = await check(size, s, reads, script);
          expect(maxActive).toBeLessThanOrEqual(s.concurrency);
        }),
        { numRuns: 40 },
      );
    }, 180_000);

    it('fetch each block at most once when the cache holds the file and nothing is read ahead', async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 100_000 }), settings, batches, async (size, s, reads) => {
          const all = { ...s, readahead: 0, cacheBlocks: Math.ceil(size / s.blockSize) };
          const { requests, distinctBlocks } = await check(size, all, reads, []);
          expect(requests).toBeLessThanOrEqual(distinctBlocks);
        }),
        { numRuns: 30 },
      );
    }, 180_000);
  });
});
