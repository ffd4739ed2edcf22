// pnpm bench: the ramdisk on the standard workloads against the memcpy limit (Buffer.copy of the
// same bytes) and against random-access-memory, interleaved in one run.
import { benchWorkloads, deviceTarget, memcpyTarget, prefill, randomAccessMemoryTarget, reportBench } from '@blk/test-kit';
import { Ramdisk } from '../src/index.js';

const SPAN = 256 << 20;
const ramdisk = deviceTarget(new Ramdisk({ sizeSectors: SPAN / 512 }), 512);
const memcpy = memcpyTarget(SPAN);
const ram = randomAccessMemoryTarget();
for (const target of [ramdisk, memcpy, ram]) await prefill(target, SPAN);

const rows = await benchWorkloads({
  subject: { name: 'ramdisk', target: ramdisk },
  spanBytes: SPAN,
  anchors: [
    { name: 'memcpy (Buffer.copy)', target: memcpy, goal: (w) => (w.random ? undefined : 0.8) },
    { name: 'random-access-memory', target: ram, applies: (w) => w.random, goal: () => 3 },
  ],
});
reportBench('@blk/ramdisk', rows);
