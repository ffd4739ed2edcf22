import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect, type Client } from '../src/index.js';
import { startHarness, type Harness } from './helpers/harness.js';

let h: Harness;
let clients: Client[];
beforeEach(async () => {
  h = await startHarness();
  clients = [await connect({ path: h.socket }), await connect({ path: h.socket })];
});
afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await h.close();
});

const tick = () => new Promise((r) => setImmediate(r));

describe('two socket connections racing transactions', () => {
  it('transfers between accounts keep the total; increments are never lost', async () => {
    const accounts = 5;
    await clients[0]!.immediate(async (x) => {
      for (let i = 0; i < accounts; i++) await x.write(`/bank/${i}`, '100');
      await x.write('/bank/ops', '0');
    });
    let seed = 42;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
    let runs = 0;
    const worker = async (client: Client, rounds: number) => {
      for (let r = 0; r < rounds; r++) {
        const from = rand(accounts);
        const to = (from + 1 + rand(accounts - 1)) % accounts;
        await client.transaction(async (x) => {
          runs++;
          const [a, b, ops] = await Promise.all([x.read(`/bank/${from}`), x.read(`/bank/${to}`), x.read('/bank/ops')]);
          await tick();
          await Promise.all([
            x.write(`/bank/${from}`, String(Number(a) - 1)),
            x.write(`/bank/${to}`, String(Number(b) + 1)),
            x.write('/bank/ops', String(Number(ops) + 1)),
          ]);
        });
      }
    };
    const rounds = 80;
    await Promise.all([worker(clients[0]!, rounds), worker(clients[1]!, rounds), worker(clients[0]!, rounds), worker(clients[1]!, rounds)]);
    const values = await clients[1]!.immediate((x) => Promise.all(Array.from({ length: accounts }, (_, i) => x.read(`/bank/${i}`))));
    expect(values.reduce((sum, v) => sum + Number(v), 0)).toBe(100 * accounts);
    expect(await clients[1]!.immediate((x) => x.read('/bank/ops'))).toBe(String(4 * rounds));
    expect(runs).toBeGreaterThanOrEqual(4 * rounds);
  });

  it('a transaction never sees a half-applied one: pairs written together are read together', async () => {
    await clients[0]!.immediate((x) => Promise.all([x.write('/pair/a', '0'), x.write('/pair/b', '0')]));
    const state = { stop: false };
    const writer = (async () => {
      for (let i = 1; i <= 150; i++) {
        await clients[0]!.transaction(async (x) => {
          await x.write('/pair/a', String(i));
          await tick();
          await x.write('/pair/b', String(i));
        });
      }
      state.stop = true;
    })();
    let checks = 0;
    while (!state.stop && checks < 10_000) {
      const [a, b] = await clients[1]!.transaction((x) => Promise.all([x.read('/pair/a'), x.read('/pair/b')]));
      expect(a).toBe(b);
      checks++;
    }
    await writer;
    expect(checks).toBeGreaterThan(0);
  });
});
