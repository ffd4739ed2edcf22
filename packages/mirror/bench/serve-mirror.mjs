// The server side of the end-to-end benchmark, run as its own `node` process on the built
// packages (dist/), set up as `blk serve FILE` and `blk mirror FILE nbd+unix://… --serve` are:
//   node bench/serve-mirror.mjs serve  SRC SOCKET
//   node bench/serve-mirror.mjs mirror SRC SOCKET TARGET_SOCKET
// Prints "listening" once SOCKET accepts clients and, mirroring, "synced SECONDS" (from opening
// the devices to the sync). On SIGTERM it stops serving, flushes, prints "flushed" and exits 0.
// MIRROR_OPTIONS (JSON) is passed to the mirror as its options, to try a policy end to end.
import { performance } from 'node:perf_hooks';
import { openFileDevice } from '@blk/fmap';
import { connect as connectNbd, createServer } from '@blk/nbd';
import { connect as connectMirror } from '../dist/index.js';

const [mode, src, socket, target] = process.argv.slice(2);
if ((mode !== 'serve' && mode !== 'mirror') || !src || !socket || (mode === 'mirror' && !target)) {
  console.error('usage: serve-mirror.mjs serve SRC SOCKET | mirror SRC SOCKET TARGET_SOCKET');
  process.exit(2);
}

const started = performance.now();
const primary = await openFileDevice(src, { readOnly: false, lock: true });
const secondary = mode === 'mirror' ? await connectNbd({ path: target }) : undefined;
const options = process.env.MIRROR_OPTIONS ? JSON.parse(process.env.MIRROR_OPTIONS) : undefined;
const mirror = secondary ? await connectMirror(primary, secondary, options) : undefined;
const device = mirror ?? primary;
mirror?.synced.then(
  () => console.log(`synced ${((performance.now() - started) / 1000).toFixed(4)}`),
  (error) => console.log(`failed ${error.message}`),
);
const server = createServer({ exports: { '': device } });
await server.listen({ path: socket });
console.log('listening');

process.once('SIGTERM', () => {
  void (async () => {
    await server.close();
    await device.flush?.();
    await secondary?.flush?.();
    console.log(`flushed ${mirror?.state ?? 'serving'}`);
    await mirror?.disconnect();
    await Promise.all([primary.disconnect(), secondary?.disconnect()]);
    process.exit(0);
  })();
});
