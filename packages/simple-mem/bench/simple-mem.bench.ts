// pnpm bench: simple-mem on the standard workloads against the memcpy limit (Buffer.copy of the
// same bytes) and against random-access-memory, interleaved in one run.
import { benchWorkloads, deviceTarget, memcpyTarget, prefill, randomAccessMemoryTarget, reportBench } from '@blk/test-kit';
import { connect } from '../src/index.js';

const SPAN = 256 << 20;
const disk = deviceTarget(await connect('bench', { sizeSectors: SPAN / 512 }), 512);
const memcpy = memcpyTarget(SPAN);
const ram = randomAccessMemoryTarget();
for (const target of [disk, memcpy, ram]) await prefill(target, SPAN);

const rows = await benchWorkloads({
  subject: { name: 'simple-mem', target: disk },
  spanBytes: SPAN,
  anchors: [
    { name: 'memcpy (Buffer.copy)', target: memcpy, goal: (w) => (w.random ? undefined : 0.8) },
    { name: 'random-access-memory', target: ram, applies: (w) => w.random, goal: () => 3 },
  ],
});
reportBench('@blk/simple-mem', rows);
