import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { EventChannelTable } from '../src/index.js';

const DIST = new URL('../dist/index.js', import.meta.url).href;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => {
      clearTimeout(timer);
    }),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no wake-up within ${ms} ms`)), ms))),
  ]);
}

describe('event channels', () => {
  it('binds only the domain the port was allocated for, once', () => {
    const table = new EventChannelTable(EventChannelTable.allocate(8));
    const local = table.allocUnbound(5);
    expect(local.port).toBeGreaterThanOrEqual(1);
    expect(table.bindInterdomain(local.port, 6)).toBeUndefined();
    expect(table.bindInterdomain(0, 5)).toBeUndefined();
    expect(table.bindInterdomain(99, 5)).toBeUndefined();
    const remote = table.bindInterdomain(local.port, 5);
    expect(remote?.port).toBe(local.port);
    expect(table.bindInterdomain(local.port, 5)).toBeUndefined();
    table.unbind(local.port);
    expect(table.bindInterdomain(local.port, 5)).toBeDefined();
  });

  it('runs out of ports rather than reusing a busy one', () => {
    const table = new EventChannelTable(EventChannelTable.allocate(3));
    const ports = [table.allocUnbound(0).port, table.allocUnbound(0).port];
    expect(new Set(ports).size).toBe(2);
    expect(() => table.allocUnbound(0)).toThrow(/no free/);
    table.free(ports[0]!);
    expect(table.allocUnbound(0).port).toBe(ports[0]);
  });

  it('a notification sent before the wait is not lost: waiting on the old value returns at once', async () => {
    const table = new EventChannelTable(EventChannelTable.allocate(4));
    const local = table.allocUnbound(0);
    const remote = table.bindInterdomain(local.port, 0)!;
    const seen = local.value;
    remote.notify();
    await withTimeout(local.wait(seen), 1000, 'wait after notify');
    expect(local.value).not.toBe(seen);
    // and the other direction
    const seenRemote = remote.value;
    local.notify();
    await withTimeout(remote.wait(seenRemote), 1000, 'reverse');
  });

  it('close wakes the end that closes and stops its notifications', async () => {
    const table = new EventChannelTable(EventChannelTable.allocate(4));
    const local = table.allocUnbound(0);
    const remote = table.bindInterdomain(local.port, 0)!;
    const waiting = local.wait(local.value);
    local.close();
    await withTimeout(waiting, 1000, 'close');
    const before = remote.value;
    local.notify();
    expect(remote.value).toBe(before);
  });

  it('wakes a waiter in another thread every time across 2000 ping-pongs', async () => {
    const events = EventChannelTable.allocate(4);
    const table = new EventChannelTable(events);
    const local = table.allocUnbound(3);
    // The other thread binds the remote end with the built package and answers each ping.
    const worker = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       import(workerData.dist).then(async ({ EventChannelTable }) => {
         const table = new EventChannelTable(workerData.events);
         const remote = table.bindInterdomain(workerData.port, 3);
         let seen = remote.value;
         // Atomics.waitAsync does not keep a thread alive by itself.
         const keepAlive = setInterval(() => {}, 1 << 30);
         parentPort.postMessage('bound');
         // The counter was read once, before 'bound': re-reading it per round could swallow a
         // ping that arrived before the read.
         for (let i = 0; i < 2000; i++) {
           while (remote.value === seen) await remote.wait(seen);
           seen = remote.value;
           remote.notify();
         }
         clearInterval(keepAlive);
         parentPort.postMessage('done');
       });`,
      { eval: true, workerData: { dist: DIST, events, port: local.port } },
    );
    try {
      const messages: unknown[] = [];
      const bound = new Promise<void>((resolve) =>
        worker.on('message', (m) => {
          messages.push(m);
          if (m === 'bound') resolve();
        }),
      );
      await withTimeout(bound, 10_000, 'worker start');
      for (let i = 0; i < 2000; i++) {
        const seen = local.value;
        local.notify();
        await withTimeout(local.wait(seen), 5000, `ping ${i}`);
      }
      await withTimeout(
        new Promise<void>((resolve) => {
          if (messages.includes('done')) resolve();
          else worker.on('message', (m) => m === 'done' && resolve());
        }),
        5000,
        'worker done',
      );
    } finally {
      await worker.terminate();
    }
  });
});
