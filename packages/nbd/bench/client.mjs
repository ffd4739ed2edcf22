// The client side of the benchmark, run as its own `node` process on the built packages: what
// `blk copy` does between a file and an NBD export (openFileDevice, connect, core's copy, a flush
// of the destination), with blk copy's settings for an NBD end. Prints the seconds it took.
//   node bench/client.mjs FILE URI      file → export
//   node bench/client.mjs URI FILE      export → file (FILE is created or overwritten in place)
import { copy } from '@blk/core';
import { openFileDevice } from '@blk/fmap';
import { performance } from 'node:perf_hooks';
import { connect, NBD_COPY_SETTINGS } from '../dist/index.js';

const [from, to] = process.argv.slice(2);
if (!from || !to) {
  console.error('usage: client.mjs FILE URI | client.mjs URI FILE');
  process.exit(2);
}
const isUri = (text) => /^nbds?(\+unix)?:\/\//.test(text);
const start = performance.now();
const open = (text, readOnly) =>
  isUri(text) ? connect({ uri: text, connections: NBD_COPY_SETTINGS.connections }) : openFileDevice(text, { readOnly });
const src = await open(from, true);
const dst = await open(to, false);
await copy(src, dst, { chunkBytes: NBD_COPY_SETTINGS.chunkBytes, concurrency: NBD_COPY_SETTINGS.concurrency });
await dst.flush?.();
await Promise.all([src.disconnect(), dst.disconnect()]);
console.log(((performance.now() - start) / 1000).toFixed(4));
