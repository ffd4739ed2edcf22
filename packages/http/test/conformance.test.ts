// The shared suite against a local Node server with byte ranges: each device a fresh all-zero
// image (a Ramdisk read through the server), read-only. Faults below make the server fail the
// request (500, or a dropped connection mid-body); the device retries, then reports IO. Those
// variants run without the cache, which would answer the suite's second read of a sector.
import type { BlockDevice } from '@blk/core';
import { describeBlockDevice, LARGE_MIN_BYTES } from '@blk/conformance';
import { Ramdisk } from '@blk/ramdisk';
import { describe, expect, it } from 'vitest';
import type { HttpOptions } from '../src/index.js';
import { TRANSPORTS } from './helpers/transports.js';
import { deviceSource } from './helpers/image-source.js';
import { useRangeServer } from './helpers/range-server.js';

const server = useRangeServer();

/** Quick retries: a fault test fails every read below and waits for every retry. */
const QUICK: HttpOptions = { retryDelayMs: 5 };

describe.each(TRANSPORTS)('over $name', ({ connect }) => {
  async function imageOf(
    sizeSectors: number,
    sectorSize: number,
    options: HttpOptions = {},
    faulty: (d: BlockDevice) => BlockDevice = (d) => d,
  ) {
    const { url } = server.current.add(await deviceSource(faulty(new Ramdisk({ sizeSectors, sectorSize }))));
    return connect(url, { ...QUICK, sectorSize, ...options });
  }

  function variant(name: string, sizeSectors: number, sectorSize: number, options: HttpOptions = {}) {
    describeBlockDevice(name, () => imageOf(sizeSectors, sectorSize, options), {
      // Without a cache: the suite reads a sector, then fails the reads below and reads it again.
      overFaults: (faulty) => imageOf(sizeSectors, sectorSize, { ...options, cacheBytes: 0 }, faulty),
      large: () => imageOf(LARGE_MIN_BYTES / sectorSize, sectorSize, options),
    });
  }

  variant('HttpDevice, 512-byte sectors', 256, 512);
  variant('HttpDevice, 4096-byte sectors', 64, 4096);
  variant('HttpDevice, 4 KiB blocks, no cache, no read-ahead, one request at a time', 256, 512, {
    blockSize: 4096,
    cacheBytes: 0,
    readahead: 0,
    concurrency: 1,
  });
  variant('HttpDevice, small requests and cache (8 KiB blocks, 16 KiB requests, 32 KiB cache)', 256, 512, {
    blockSize: 8192,
    maxRequestBytes: 16384,
    cacheBytes: 32768,
    readahead: 65536,
  });

  describe('the conformance images', () => {
    it('are read through range requests only', async () => {
      const device = await imageOf(64, 512);
      await device.read(0, [new Uint8Array(64 * 512)]);
      expect(device.stats.requests).toBeGreaterThan(0);
      await device.disconnect();
    });
  });
});
