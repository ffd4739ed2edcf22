#!/usr/bin/env node
// Builds the README's support matrix from the devices themselves: each backend is constructed
// (from its built dist) and its `supports` manifest read. `--check` fails when README.md differs;
// without it the README section between the markers is rewritten. Run after `pnpm build`.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(import.meta.dirname, '..');
const load = (pkg) => import(pathToFileURL(join(root, 'packages', pkg, 'dist', 'index.js')).href);
const { SUPPORT_FLAGS } = await load('core');

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
];

const rows = [];
for (const backend of backends) {
  const device = await backend.make();
  rows.push(`| ${backend.name} | ${SUPPORT_FLAGS.map((f) => (device.supports[f] ? '✓' : '·')).join(' | ')} |`);
  await device.disconnect();
}
const table = [
  `| backend | ${SUPPORT_FLAGS.join(' | ')} |`,
  `| --- | ${SUPPORT_FLAGS.map(() => ':-:').join(' | ')} |`,
  ...rows,
].join('\n');

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
