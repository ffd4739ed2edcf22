import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { compare, copy } from '@blk/core';
import { connect, isHttpDeviceError } from '@blk/http';
import { Ramdisk } from '@blk/ramdisk';

// A stand-in for any web server with byte ranges (nginx, S3, a CDN): a 1 MiB image.
const image = new Uint8Array(1 << 20).map((_, i) => i % 251);
const server = createServer((req, res) => {
  const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
  const headers = { etag: '"v1"', 'accept-ranges': 'bytes' };
  if (!range) {
    res.writeHead(200, { ...headers, 'content-length': image.byteLength });
    res.end(req.method === 'HEAD' ? undefined : image);
    return;
  }
  const start = Number(range[1]);
  const end = Math.min(Number(range[2]), image.byteLength - 1);
  res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${image.byteLength}` });
  res.end(image.subarray(start, end + 1));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;

const disk = await connect(`http://127.0.0.1:${port}/disk.img`, { cacheBytes: 16 << 20, retries: 2 });
const info = await disk.getInfo();
console.log(info); // { readWrite: false, sectorSize: 512, sizeSectors: 2048 }

const sector = new Uint8Array(512);
await disk.read(1, [sector]); // fetches one 16 KiB block, now cached
console.log(sector[0]); // 512 % 251 = 10

const local = new Ramdisk({ sizeSectors: info.sizeSectors });
await copy(disk, local); // sequential: read ahead in large range requests
console.log(await compare(disk, local), disk.stats.requests); // 0, a handful of requests

try {
  await disk.write(0, [sector]);
} catch (error) {
  console.log((error as Error).message); // an HTTP image is read-only
}
console.log(isHttpDeviceError(new Error('not one'))); // false
await disk.disconnect();
server.close();
