import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createServer, connect } from '../src/index.js';
const server = createServer({});
const c = await connect({ stream: server.connectAs(0) });
const h = monitorEventLoopDelay({ resolution: 5 }); h.enable();
const t = performance.now();
for (let r = 0; r < 5; r++) await c.transaction((x) => Promise.all(Array.from({ length: 20_000 }, (_, i) => x.write('/txr/n', String(i)))));
console.log('ms/tx', (performance.now() - t) / 5, 'max stall ms', h.max / 1e6);
process.exit(0);
