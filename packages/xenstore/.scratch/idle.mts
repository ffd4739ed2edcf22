import { createServer, connect, encodeFrame, MessageType as T } from '../src/index.js';
const frame = (type: number, payload: string, reqId = 1) => encodeFrame({ type, reqId, txId: 0, payload: new TextEncoder().encode(payload) });
const server = createServer({});
const c = await connect({ stream: server.connectAs(0) });
async function rounds(n: number) {
  const t = performance.now();
  for (let r = 0; r < n; r++) {
    const base = `/churn/${r}`;
    await c.immediate((x) => Promise.all(Array.from({ length: 500 }, (_, i) => x.write(`${base}/${i}`, 'v'))));
    await c.immediate((x) => x.rm(base));
  }
  return (performance.now() - t) / n;
}
console.log('no tx ms/round', await rounds(20));
server.introduce(7);
const s = server.connectAs(7);
for (let i = 0; i < 10; i++) s.write(frame(T.TRANSACTION_START, '\0', i + 1));
await new Promise((r) => setTimeout(r, 100));
console.log('stats', server.stats().transactions, server.retainedPreimages);
console.log('10 idle tx ms/round', await rounds(20));
console.log('stats', server.stats().transactions, server.retainedPreimages);
process.exit(0);
