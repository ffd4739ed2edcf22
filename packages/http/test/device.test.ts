import { expectBlockError } from '@blk/conformance';
import { isBlockError } from '@blk/core';
import { rejection } from '@blk/test-kit';
import { describe, expect, it } from 'vitest';
import type { HttpOptions } from '../src/index.js';
import { TRANSPORTS } from './helpers/transports.js';
import { parseContentRange } from '../src/content-range.js';
import { bytesSource, patternBytes } from './helpers/image-source.js';
import { useRangeServer, type ImageOptions } from './helpers/range-server.js';

const server = useRangeServer();

describe.each(TRANSPORTS)('over $name', ({ name, connect }) => {
  async function open(bytes: Uint8Array, options: HttpOptions = {}, image: ImageOptions = {}) {
    const served = server.current.add(bytesSource(bytes), image);
    return { device: await connect(served.url, options), image: served.image, url: served.url };
  }

  describe('size and shape', () => {
    it('rounds an image of odd length up to whole sectors that read zeroes past its end', async () => {
      const bytes = patternBytes(1000);
      const { device } = await open(bytes, { sectorSize: 512 });
      expect(await device.getInfo()).toEqual({ readWrite: false, sectorSize: 512, sizeSectors: 2 });
      expect(device.byteLength).toBe(1000);
      const out = new Uint8Array(1024).fill(0xff);
      await device.read(0, [out]);
      expect(out.subarray(0, 1000)).toEqual(bytes);
      expect(out.subarray(1000).every((b) => b === 0)).toBe(true);
      await device.disconnect();
    });

    it('opens an empty image as a device of no sectors', async () => {
      const { device } = await open(new Uint8Array(0));
      expect((await device.getInfo()).sizeSectors).toBe(0);
      await device.read(0, []);
      await device.disconnect();
    });

    it('sends through the transport its entry point chose', async () => {
      const { device } = await open(patternBytes(4096));
      expect(device.transport).toBe(name);
      await device.disconnect();
    });

    it('works without HEAD (405), and reports the validators it saw', async () => {
      const { device, image } = await open(patternBytes(4096), {}, { noHead: true });
      expect(device.etag).toBe(image.etag);
      expect(device.lastModified).toBe(image.lastModified);
      await device.disconnect();
    });

    it('sends the caller headers on every request', async () => {
      const { device, image } = await open(patternBytes(8192), { headers: { Authorization: 'Bearer t0ken' } });
      await device.read(0, [new Uint8Array(512)]);
      expect(image.log.map((r) => r.authorization)).toEqual(['Bearer t0ken', 'Bearer t0ken', 'Bearer t0ken']);
      await device.disconnect();
    });
  });

  describe('requests', () => {
    it('coalesces the blocks of one read into requests of at most maxRequestBytes', async () => {
      const bytes = patternBytes(1 << 20);
      const { device, image } = await open(bytes, { blockSize: 4096, maxRequestBytes: 65536, readahead: 0 });
      const before = image.rangeRequests;
      const out = new Uint8Array(256 * 1024);
      await device.read(0, [out]);
      expect(out).toEqual(bytes.subarray(0, out.byteLength));
      expect(image.rangeRequests - before).toBe(4);
      expect(device.stats.requests).toBe(4);
      await device.disconnect();
    });

    it('coalesces concurrent reads of neighbouring blocks queued behind a busy slot', async () => {
      const bytes = patternBytes(1 << 20);
      const { device } = await open(bytes, { blockSize: 4096, concurrency: 1, readahead: 0 });
      const reads = Array.from({ length: 16 }, (_, i) => device.read(i * 8, [new Uint8Array(4096)]));
      await Promise.all(reads);
      // The first read takes the only slot; the 15 after it wait and go as one request.
      expect(device.stats.requests).toBe(2);
      await device.disconnect();
    });

    it('serves a second read of the same blocks from the cache', async () => {
      const { device, image } = await open(patternBytes(1 << 20), { readahead: 0, blockSize: 65536 });
      await device.read(0, [new Uint8Array(65536)]);
      const before = image.rangeRequests;
      await device.read(0, [new Uint8Array(65536)]);
      expect(image.rangeRequests).toBe(before);
      expect(device.stats.cacheHits).toBe(1);
      await device.disconnect();
    });

    it('reads ahead of a sequential reader in larger requests than its reads', async () => {
      const { device } = await open(patternBytes(4 << 20), { blockSize: 4096, readahead: 1 << 20 });
      for (let sector = 0; sector < 4096; sector += 128) await device.read(sector, [new Uint8Array(65536)]);
      const { requests, bytesFetched } = device.stats;
      expect(bytesFetched, 'bytes past the last read were fetched').toBeGreaterThan(2 << 20);
      expect(requests, '32 reads of 64 KiB').toBeLessThan(16);
      await device.disconnect();
    });

    it('fetches one 16 KiB block for a 4 KiB read by default, in one request', async () => {
      const { device } = await open(patternBytes(4 << 20));
      for (const sector of [4000, 16, 2048]) await device.read(sector, [new Uint8Array(4096)]);
      expect(device.stats).toMatchObject({ requests: 3, bytesFetched: 3 * 16384 });
      await device.disconnect();
    });

    it('keeps its connections alive: many requests, at most `concurrency` connections', async () => {
      const { device } = await open(patternBytes(1 << 20), { blockSize: 4096, readahead: 0, concurrency: 2 });
      for (let i = 0; i < 20; i++) await device.read(i * 16, [new Uint8Array(512)]);
      await Promise.all(Array.from({ length: 20 }, (_, i) => device.read(1024 + i * 16, [new Uint8Array(512)])));
      expect(device.stats.requests).toBeGreaterThanOrEqual(21);
      // fetch pools its connections out of sight.
      if (name !== 'fetch') expect(device.stats.connections).toBeLessThanOrEqual(2);
      await device.disconnect();
    });

    it('opens a new connection when the server closed an idle one, without spending a retry (fetch: one retry)', async () => {
      // Node's fetch sends on the closed connection and fails the request: the device's retry covers it.
      const { device } = await open(patternBytes(1 << 20), { readahead: 0, retries: name === 'fetch' ? 1 : 0, retryDelayMs: 0 });
      await device.read(0, [new Uint8Array(512)]);
      for (let i = 1; i <= 3; i++) {
        server.current.server.closeIdleConnections();
        await device.read(i * 64, [new Uint8Array(512)]);
      }
      if (name !== 'fetch') expect(device.stats.connections).toBeGreaterThan(1);
      await device.disconnect();
    });

    it.each([301, 302, 307, 308])('follows a %i redirect for every request, with the headers', async (status) => {
      const bytes = patternBytes(1 << 20);
      const served = server.current.add(bytesSource(bytes));
      const redirect = server.current.redirect(served.url, status);
      const device = await connect(redirect.url, { readahead: 0, headers: { authorization: 'Bearer x' } });
      const out = new Uint8Array(8192);
      await device.read(64, [out]);
      expect(out).toEqual(bytes.subarray(64 * 512, 64 * 512 + 8192));
      expect(redirect.hits).toBe(3);
      expect(served.image.log.map((r) => r.authorization)).toEqual(['Bearer x', 'Bearer x', 'Bearer x']);
      await device.disconnect();
    });

    it('does not read ahead of random reads', async () => {
      const { device } = await open(patternBytes(4 << 20), { blockSize: 4096, readahead: 1 << 20 });
      for (const sector of [4000, 16, 2048, 512, 3000, 100]) await device.read(sector, [new Uint8Array(4096)]);
      expect(device.stats.bytesFetched, 'sector 100 spans two blocks').toBe(7 * 4096);
      await device.disconnect();
    });

    it('keeps the cache within cacheBytes', async () => {
      const { device } = await open(patternBytes(1 << 20), { blockSize: 4096, cacheBytes: 40960, readahead: 0 });
      await device.read(0, [new Uint8Array(1 << 20)]);
      expect(device.stats.cacheBytes).toBeLessThanOrEqual(40960);
      await device.disconnect();
    });

    it('refuses reads past maxPendingReads with IO, and takes them again once some finish', async () => {
      const { device, image } = await open(patternBytes(1 << 20), { maxPendingReads: 2, readahead: 0 });
      image.script.push({ status: 503, retryAfter: '0' });
      const a = device.read(0, [new Uint8Array(512)]);
      const b = device.read(1, [new Uint8Array(512)]);
      await expectBlockError(device.read(2, [new Uint8Array(512)]), 'IO');
      await Promise.all([a, b]);
      await device.read(2, [new Uint8Array(512)]);
      await device.disconnect();
    });

    it('rejects writes READ_ONLY and everything DISCONNECTED after disconnect', async () => {
      const { device } = await open(patternBytes(4096));
      await expectBlockError(device.write(0, [new Uint8Array(512)]), 'READ_ONLY');
      await device.disconnect();
      await device.disconnect();
      await expectBlockError(device.read(0, [new Uint8Array(512)]), 'DISCONNECTED');
      await expectBlockError(device.getInfo(), 'DISCONNECTED');
      await expectBlockError(device.write(0, [new Uint8Array(512)]), 'DISCONNECTED');
    });
  });

  describe('bad arguments', () => {
    it.each([
      ['ftp://127.0.0.1/x.img', 'not HTTP'],
      ['not a url', 'not a URL'],
      ['http://user:pw@127.0.0.1/x.img', 'credentials'],
    ])('refuses %s', async (url, message) => {
      const error = await rejection(connect(url));
      expect(isBlockError(error, 'INVALID_ARGUMENT'), error.message).toBe(true);
      expect(error.message).toContain(message);
    });

    it.each<[HttpOptions, string]>([
      [{ sectorSize: 1000 }, 'sector size'],
      [{ blockSize: 3000 }, 'blockSize'],
      [{ blockSize: 512, sectorSize: 4096 }, 'blockSize'],
      [{ concurrency: 0 }, 'concurrency'],
      [{ concurrency: 1.5 }, 'concurrency'],
      [{ timeoutMs: -1 }, 'timeoutMs'],
      [{ retries: Number.NaN }, 'retries'],
      [{ cacheBytes: -1 }, 'cacheBytes'],
      [{ maxRequestBytes: 100 }, 'maxRequestBytes'],
      [{ headers: { Range: 'bytes=0-' } }, 'Range'],
      [{ headers: { 'x-a': 'b\r\nx-injected: 1' } }, 'header'],
      [{ headers: { 'bad name': 'x' } }, 'header'],
    ])('refuses options %j', async (options, message) => {
      const { url } = server.current.add(bytesSource(patternBytes(512)));
      const error = await rejection(connect(url, options));
      expect(isBlockError(error, 'INVALID_ARGUMENT'), error.message).toBe(true);
      expect(error.message).toContain(message);
    });
  });
});

describe('parseContentRange', () => {
  it.each([
    ['bytes 0-0/10', { first: 0, last: 0, total: 10 }],
    ['bytes 5-9/*', { first: 5, last: 9, total: undefined }],
    ['bytes */42', { total: 42 }],
    ['BYTES 1-2/3', { first: 1, last: 2, total: 3 }],
  ])('reads %s', (text, expected) => {
    expect(parseContentRange(text)).toEqual(expected);
  });

  it.each(['', 'bytes 2-1/10', 'bytes 0-10/10', 'bytes 0-1', 'items 0-1/2', 'bytes 0-99999999999999999/1e30', 'bytes -1-2/3'])(
    'refuses %j',
    (text) => {
      expect(parseContentRange(text)).toBeUndefined();
    },
  );
});
