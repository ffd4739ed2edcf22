// Servers that fail, change the image, or break HTTP: each read ends in the right bytes (after
// retries) or a typed error, never in wrong data.
import { expectBlockError } from '@blk/conformance';
import { describe, expect, it } from 'vitest';
import type { HttpDevice, HttpOptions } from '../src/index.js';
import { TRANSPORTS } from './helpers/transports.js';
import { expectHttpError } from './helpers/expect-http-error.js';
import { bytesSource, patternBytes } from './helpers/image-source.js';
import { useRangeServer, type ImageOptions } from './helpers/range-server.js';

const server = useRangeServer();
const SIZE = 1 << 20;
const BLOCK = 64 << 10;
const QUICK: HttpOptions = { retryDelayMs: 1, readahead: 0 };

describe.each(TRANSPORTS)('over $name', ({ connect }) => {
  async function open(options: HttpOptions = {}, image: ImageOptions = {}, bytes = patternBytes(SIZE)) {
    const served = server.current.add(bytesSource(bytes), image);
    const device = await connect(served.url, { ...QUICK, ...options });
    return { device, image: served.image, bytes };
  }

  async function readBytes(device: HttpDevice, offset: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length).fill(0xcc);
    await device.read(offset / 512, [out]);
    return out;
  }

  describe('transient failures are retried and the bytes come out right', () => {
    it('a connection dropped before the answer', async () => {
      const { device, image, bytes } = await open();
      image.script.push('drop', 'drop');
      expect(await readBytes(device, BLOCK, BLOCK)).toEqual(bytes.subarray(BLOCK, 2 * BLOCK));
      expect(image.rangeRequests).toBe(1 + 3);
      await device.disconnect();
    });

    it('a connection dropped mid-body: the retry asks only for the bytes not yet received', async () => {
      const { device, image, bytes } = await open({ blockSize: 4096 });
      image.script.push({ dropAfter: 10_000 });
      expect(await readBytes(device, 0, 32768)).toEqual(bytes.subarray(0, 32768));
      const ranges = image.log.filter((r) => r.method === 'GET').map((r) => r.range);
      expect(ranges.slice(-2)).toEqual(['bytes=0-32767', 'bytes=10000-32767']);
      await device.disconnect();
    });

    it('500, 502, 503 with Retry-After, 429 and 408, then OK', async () => {
      const { device, image, bytes } = await open({ retries: 5 });
      image.script.push({ status: 500 }, { status: 502 }, { status: 503, retryAfter: '0' }, { status: 429 }, { status: 408 });
      expect(await readBytes(device, 0, 4096)).toEqual(bytes.subarray(0, 4096));
      await device.disconnect();
    });

    it('gives up after `retries` with the last status', async () => {
      const { device, image } = await open({ retries: 2 });
      image.script.push({ status: 500 }, { status: 500 }, { status: 503 });
      const error = await expectHttpError(readBytes(device, 0, 4096), 'IO', 'STATUS');
      expect(error.status).toBe(503);
      expect(error.message).toContain('3 attempts');
      // The next read is a new request and succeeds.
      await readBytes(device, 0, 4096);
      await device.disconnect();
    });

    it('does not retry a status that will not change (404)', async () => {
      const { device, image } = await open();
      image.script.push({ status: 404 });
      const before = image.rangeRequests;
      await expectHttpError(readBytes(device, 0, 4096), 'IO', 'STATUS');
      expect(image.rangeRequests).toBe(before + 1);
      await device.disconnect();
    });

    it('a stalled server times out, is retried, then fails with TIMEOUT', async () => {
      const { device, image, bytes } = await open({ timeoutMs: 150, retries: 1 });
      image.script.push('stall');
      expect(await readBytes(device, 0, 4096)).toEqual(bytes.subarray(0, 4096));
      image.script.push('stall', 'stall');
      await expectHttpError(readBytes(device, BLOCK, 4096), 'IO', 'TIMEOUT');
      await device.disconnect();
    });
  });

  describe('a changed image is never mixed with the old one', () => {
    it('If-Range turns a changed file into a 200, which fails every later read with CHANGED', async () => {
      const { device, image, bytes } = await open();
      expect(await readBytes(device, 0, 4096)).toEqual(bytes.subarray(0, 4096));
      image.replace(bytesSource(patternBytes(SIZE, 2)));
      await expectHttpError(readBytes(device, BLOCK * 4, 4096), 'IO', 'CHANGED');
      expect(image.log.at(-1)?.ifRange).toBe('"v1-1048576"');
      // Even what the cache holds is refused now.
      await expectHttpError(readBytes(device, 0, 4096), 'IO', 'CHANGED');
      await device.disconnect();
    });

    it('a server that ignores If-Range: the new ETag on the 206 is caught', async () => {
      const { device, image } = await open({}, { ignoreIfRange: true });
      image.script.push({ replace: bytesSource(patternBytes(SIZE, 3)) });
      await expectHttpError(readBytes(device, 0, 4096), 'IO', 'CHANGED');
      await device.disconnect();
    });

    it('without validators, a new length is caught from Content-Range', async () => {
      const { device, image } = await open({}, { etag: false, lastModified: false });
      expect(image.log.at(-1)?.ifRange).toBeUndefined();
      image.script.push({ replace: bytesSource(patternBytes(SIZE * 2)) });
      const error = await expectHttpError(readBytes(device, 0, 4096), 'IO', 'CHANGED');
      expect(error.message).toContain(`${SIZE * 2} bytes now`);
      await device.disconnect();
    });

    it('a shorter image answers 416 for a range that existed', async () => {
      const { device, image } = await open({}, { etag: false, lastModified: false });
      image.replace(bytesSource(patternBytes(BLOCK)));
      await expectHttpError(readBytes(device, SIZE - 4096, 4096), 'IO', 'CHANGED');
      await device.disconnect();
    });

    it('a weak ETag is not used in If-Range; Last-Modified is', async () => {
      const { device, image } = await open({}, { etagValue: 'W/"weak"' });
      await readBytes(device, 0, 512);
      expect(image.log.at(-1)?.ifRange).toBe(image.lastModified);
      image.replace(bytesSource(patternBytes(SIZE, 4)));
      await expectHttpError(readBytes(device, BLOCK, 512), 'IO', 'CHANGED');
      await device.disconnect();
    });

    it('the reads waiting when the change is seen fail too, with CHANGED', async () => {
      const { device, image } = await open({ blockSize: 4096, maxRequestBytes: 4096, concurrency: 1 });
      image.script.push({ replace: bytesSource(patternBytes(SIZE, 5)) });
      const reads = [0, 8, 16, 24].map((sector) => readBytes(device, sector * 512 * 8, 4096));
      for (const read of reads) await expectHttpError(read, 'IO', 'CHANGED');
      await device.disconnect();
    });
  });

  describe('servers that break HTTP get typed errors', () => {
    it('a server that ignores Range is refused at connect (UNSUPPORTED, NO_RANGES), its body not read', async () => {
      const { url, image } = server.current.add(bytesSource(patternBytes(SIZE)), { ignoreRanges: true });
      await expectHttpError(connect(url, QUICK), 'UNSUPPORTED', 'NO_RANGES');
      expect(image.log.map((r) => r.method)).toEqual(['HEAD', 'GET']);
    });

    it('Accept-Ranges: none is refused from the HEAD alone', async () => {
      const { url, image } = server.current.add(bytesSource(patternBytes(SIZE)), { acceptRangesNone: true });
      await expectHttpError(connect(url, QUICK), 'UNSUPPORTED', 'NO_RANGES');
      expect(image.log.map((r) => r.method)).toEqual(['HEAD']);
    });

    it('a server that stops honouring Range mid-way (200 with the whole file) fails the read with NO_RANGES', async () => {
      const { device, image } = await open();
      image.script.push('ignore-range');
      const into = new Uint8Array(4096).fill(0xcc);
      await expectHttpError(device.read(0, [into]), 'IO', 'NO_RANGES');
      expect(
        into.every((b) => b === 0xcc),
        'no byte of the 200 reached the buffer',
      ).toBe(true);
      await device.disconnect();
    });

    it('a Content-Range for other bytes is BAD_RESPONSE; one with another total is CHANGED', async () => {
      const { device, image } = await open();
      image.script.push({ contentRange: `bytes 1-65536/${SIZE}` });
      await expectHttpError(readBytes(device, 0, 4096), 'IO', 'BAD_RESPONSE');
      image.script.push({ contentRange: `bytes 0-65535/${SIZE + 1}` });
      await expectHttpError(readBytes(device, 0, 4096), 'IO', 'CHANGED');
      await device.disconnect();
    });

    it('a body longer than its Content-Range: the bytes asked for or BAD_RESPONSE, never the extra bytes', async () => {
      const { device, image, bytes } = await open({ blockSize: 4096, cacheBytes: 0 });
      for (let i = 0; i < 5; i++) {
        image.script.push('long-body');
        const into = new Uint8Array(4096);
        const read = device.read(8 * i, [into]);
        const ok = await read.then(
          () => true,
          () => false,
        );
        if (ok) expect(into).toEqual(bytes.subarray(4096 * i, 4096 * (i + 1)));
        else await expectHttpError(read, 'IO', 'BAD_RESPONSE');
      }
      await device.disconnect();
    });

    it('a missing image is STATUS 404 at connect', async () => {
      const { url } = server.current.add(bytesSource(patternBytes(512)));
      server.current.remove(url);
      const error = await expectHttpError(connect(url, QUICK), 'IO', 'STATUS');
      expect(error.status).toBe(404);
    });

    it('a refused connection is NETWORK after the retries', async () => {
      const { url } = server.current.add(bytesSource(patternBytes(512)));
      const closed = new URL(url);
      closed.port = '1';
      await expectHttpError(connect(closed, { ...QUICK, retries: 1 }), 'IO', 'NETWORK');
    });
  });

  describe('disconnect', () => {
    it('aborts the requests in flight: their reads reject DISCONNECTED and the server sees the connection close', async () => {
      const { device, image } = await open({ timeoutMs: 60_000 });
      image.script.push('stall');
      const read = readBytes(device, 0, 4096);
      await expect.poll(() => image.rangeRequests).toBe(2);
      await device.disconnect();
      await expectBlockError(read, 'DISCONNECTED');
      await expect.poll(() => image.stalledClosed).toBe(1);
    });

    it('wakes a read waiting to retry', async () => {
      const { device, image } = await open({ retryDelayMs: 5000 });
      image.script.push({ status: 503 });
      const read = readBytes(device, 0, 4096);
      await expect.poll(() => image.rangeRequests).toBe(2);
      await device.disconnect();
      await expectBlockError(read, 'DISCONNECTED');
    });
  });
});
