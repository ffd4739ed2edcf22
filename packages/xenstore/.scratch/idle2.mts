import { createServer, connect } from '../src/index.js';
const server = createServer({});
const c = await connect({ stream: server.connectAs(0) });
const t = performance.now();
for (let r = 0; r < 40; r++) {
  const base = `/churn/${r}`;
  await c.immediate((x) => Promise.all(Array.from({ length: 500 }, (_, i) => x.write(`${base}/${i}`, 'v'))));
  await c.immediate((x) => x.rm(base));
}
console.log('ms/round', (performance.now() - t) / 40);
process.exit(0);
