// The browser entry over a `fetch` of the page's own: listed in scripts/browser-packages.json, so
// it also runs bundled (esbuild, platform browser) in headless Chromium, where the package's
// "default" export must not reach node: modules.
import { describe, expect, it } from 'vitest';
import { connect, isHttpDeviceError, type FetchFunction } from '../src/index.js';

/** A fetch that serves `image` with byte ranges and a strong ETag, counting the range requests. */
function imageFetch(image: Uint8Array): { fetch: FetchFunction; ranges: string[] } {
  const ranges: string[] = [];
  const fetchImage: FetchFunction = (_input, init) => {
    const headers = new Headers(init.headers);
    const common = { etag: '"img-1"', 'accept-ranges': 'bytes' };
    const range = /^bytes=(\d+)-(\d+)$/.exec(headers.get('range') ?? '');
    if (init.method === 'HEAD') return Promise.resolve(new Response(null, { status: 200, headers: common }));
    if (!range) return Promise.resolve(new Response(image.slice(), { status: 200, headers: common }));
    ranges.push(headers.get('range')!);
    const start = Number(range[1]);
    const end = Math.min(Number(range[2]), image.byteLength - 1);
    return Promise.resolve(
      new Response(image.slice(start, end + 1), {
        status: 206,
        headers: { ...common, 'content-range': `bytes ${start}-${end}/${image.byteLength}` },
      }),
    );
  };
  return { fetch: fetchImage, ranges };
}

describe('@blk/http through fetch (the browser entry)', () => {
  const image = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 7 + (i >> 9)) & 0xff);

  it('reads the image through the given fetch, in range requests of whole blocks', async () => {
    const served = imageFetch(image);
    const device = await connect('http://images.invalid/disk.img', { fetch: served.fetch, readahead: 0 });
    expect(device.transport).toBe('fetch');
    expect(await device.getInfo()).toEqual({ readWrite: false, sectorSize: 512, sizeSectors: 2048 });
    const out = new Uint8Array(4096);
    await device.read(100, [out]);
    expect(out).toEqual(image.subarray(100 * 512, 100 * 512 + 4096));
    expect(served.ranges).toEqual(['bytes=0-0', 'bytes=49152-65535']);
    await device.disconnect();
  });

  it('reads a whole image sequentially, read ahead', async () => {
    const served = imageFetch(image);
    const device = await connect('http://images.invalid/disk.img', { fetch: served.fetch });
    const out = new Uint8Array(64 * 1024);
    for (let sector = 0; sector < 2048; sector += 128) {
      await device.read(sector, [out]);
      expect(out).toEqual(image.subarray(sector * 512, sector * 512 + out.byteLength));
    }
    expect(device.stats.requests).toBeLessThan(16);
    await device.disconnect();
  });

  it('refuses a server without ranges with a typed error', async () => {
    const whole: FetchFunction = () => Promise.resolve(new Response(image.slice(0, 1024), { status: 200 }));
    const error: unknown = await connect('http://images.invalid/disk.img', { fetch: whole }).catch((e: unknown) => e);
    expect(isHttpDeviceError(error, 'NO_RANGES')).toBe(true);
  });
});
