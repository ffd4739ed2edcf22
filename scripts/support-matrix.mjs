#!/usr/bin/env node
// Builds the README's support matrix from the devices themselves: each backend is constructed
// (from its built dist) and its `supports` manifest read. `--check` fails when README.md differs;
// without it the README section between the markers is rewritten. Run after `pnpm build`.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(import.meta.dirname, '..');
const load = (pkg) => import(pathToFileURL(join(root, 'packages', pkg, 'dist', 'index.js')).href);
const { SUPPORT_FLAGS } = await load('core');
const scratch = mkdtempSync(join(tmpdir(), 'blk-matrix-'));
const newRamdisk = async () => new (await load('ramdisk')).Ramdisk({ sizeSectors: 64 });

/** One entry per backend: how to make a small instance, and how to dispose of it. */
const backends = [
  {
    name: '`@blk/ramdisk` Ramdisk',
    make: async () => new (await load('ramdisk')).Ramdisk({ sizeSectors: 64 }),
  },
  {
    name: '`@blk/simple-mem`',
    make: async () => {
      const { connect, destroy } = await load('simple-mem');
      const device = await connect('support-matrix');
      destroy('support-matrix');
      return device;
    },
  },
  {
    name: '`@blk/fmap` file device (openFileDevice)',
    make: async () => {
      const path = join(scratch, 'disk.img');
      writeFileSync(path, new Uint8Array(64 * 512));
      return (await load('fmap')).openFileDevice(path);
    },
  },
  {
    name: '`@blk/fmap` thin device in a BlockFile (openFmapDevice)',
    make: async () => (await load('fmap')).openFmapDevice(join(scratch, 'disk.fmap'), { create: { sizeSectors: 64 } }),
  },
  {
    name: '`@blk/mirror` over two Ramdisks',
    make: async () => (await load('mirror')).connect(await newRamdisk(), await newRamdisk(), { disconnectChildren: true }),
  },
  {
    name: '`@blk/overlay` of a file device on a file device',
    make: async () => {
      const { openFileDevice } = await load('fmap');
      const base = join(scratch, 'base.img');
      writeFileSync(base, new Uint8Array(64 * 512));
      writeFileSync(join(scratch, 'top.img'), new Uint8Array(64 * 1024));
      return (await load('overlay')).overlay(
        await openFileDevice(base, { readOnly: true }),
        await openFileDevice(join(scratch, 'top.img')),
        { disconnectChildren: true },
      );
    },
  },
  {
    name: '`@blk/opfs` (in a dedicated worker)',
    // Node has no OPFS: the manifest is read from a device over a one-file stand-in directory.
    make: async () => {
      let size = 0;
      const handle = { getSize: () => size, truncate: (n) => void (size = n), close: () => undefined };
      const directory = { getFileHandle: async () => ({ createSyncAccessHandle: async () => handle }), removeEntry: async () => undefined };
      return (await load('opfs')).openOpfsDevice('disk.img', { sizeSectors: 64, directory });
    },
  },
  {
    name: '`@blk/xen-ring` Blkfront (Ramdisk behind blkback)',
    make: async () =>
      (await load('xen-ring')).connectWorker(
        {
          module: pathToFileURL(join(root, 'packages', 'ramdisk', 'dist', 'index.js')).href,
          export: 'Ramdisk',
          options: { sizeSectors: 64 },
        },
        { from: import.meta.url },
      ),
  },
  {
    name: '`@blk/nbd` NbdDevice (Ramdisk behind our server)',
    make: async () => {
      const nbd = await load('nbd');
      const server = nbd.createServer({ exports: { '': await newRamdisk() } });
      const path = join(scratch, 'nbd.sock');
      await server.listen({ path });
      const device = await nbd.connect({ path });
      const disconnect = device.disconnect.bind(device);
      return Object.assign(device, { disconnect: async () => (await disconnect(), await server.close()) });
    },
  },
  {
    // Its manifest does not depend on the cluster: read it from a device that was never opened
    // (so this needs neither librbd nor a cluster).
    name: '`@blk/rbd` RbdDevice (an image; a snapshot is read-only)',
    make: async () =>
      new (await load('rbd')).RbdDevice({
        native: undefined,
        pool: 'rbd',
        namespace: undefined,
        image: 'support-matrix',
        snapshot: undefined,
        readOnly: false,
        sectorSize: 512,
        release: () => Promise.resolve(),
      }),
  },
  {
    name: '`@blk/http` HttpDevice (an image on a web server with byte ranges)',
    make: async () => {
      const { createServer } = await import('node:http');
      const image = new Uint8Array(64 * 512);
      const server = createServer((req, res) => {
        const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
        if (!range) {
          res.writeHead(200, { 'content-length': image.byteLength });
          res.end(req.method === 'HEAD' ? undefined : image);
          return;
        }
        const start = Number(range[1]);
        const end = Math.min(Number(range[2]), image.byteLength - 1);
        res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${image.byteLength}` });
        res.end(image.subarray(start, end + 1));
      });
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      const device = await (await load('http')).connect(`http://127.0.0.1:${server.address().port}/disk.img`);
      const disconnect = device.disconnect.bind(device);
      return Object.assign(device, {
        disconnect: async () => {
          await disconnect();
          server.closeAllConnections();
          server.close();
        },
      });
    },
  },
];

const rows = [];
for (const backend of backends) {
  const device = await backend.make();
  rows.push(`| ${backend.name} | ${SUPPORT_FLAGS.map((f) => (device.supports[f] ? '✓' : '·')).join(' | ')} |`);
  await device.disconnect();
}
rmSync(scratch, { recursive: true, force: true });
const table = [`| backend | ${SUPPORT_FLAGS.join(' | ')} |`, `| --- | ${SUPPORT_FLAGS.map(() => ':-:').join(' | ')} |`, ...rows].join('\n');

const readmePath = join(root, 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const begin = '<!-- support-matrix:begin -->';
const end = '<!-- support-matrix:end -->';
const [head, rest] = readme.split(begin);
if (rest === undefined || !rest.includes(end)) {
  console.error(`README.md has no ${begin} … ${end} section`);
  process.exit(1);
}
const updated = `${head}${begin}\n${table}\n${end}${rest.split(end)[1]}`;
if (process.argv.includes('--check')) {
  if (updated !== readme) {
    console.error('README.md support matrix is out of date: run `pnpm support-matrix` and commit the result.');
    process.exit(1);
  }
  console.log('support matrix up to date');
} else {
  writeFileSync(readmePath, updated);
  console.log(table);
}
