import { afterEach, describe, expect, it, vi } from 'vitest';

type EventLoopModule = typeof import('../src/event-loop.js');

/** The module as Node loads it, and as a browser does (no setImmediate when it is imported). */
async function load(browser: boolean): Promise<EventLoopModule> {
  vi.resetModules();
  if (browser) vi.stubGlobal('setImmediate', undefined);
  return import('../src/event-loop.js');
}

afterEach(() => {
  vi.unstubAllGlobals();
});

for (const browser of [false, true]) {
  describe(`nextTurn ${browser ? 'through a MessageChannel' : 'through setImmediate'}`, () => {
    it('resolves after pending microtasks, in call order', async () => {
      const { nextTurn } = await load(browser);
      const order: string[] = [];
      const turns = [nextTurn().then(() => order.push('turn 1')), nextTurn().then(() => order.push('turn 2'))];
      void Promise.resolve().then(() => order.push('microtask'));
      await Promise.all(turns);
      expect(order).toEqual(['microtask', 'turn 1', 'turn 2']);
    });

    it('keeps up with many turns in a row', async () => {
      const { nextTurn } = await load(browser);
      for (let i = 0; i < 1000; i++) await nextTurn();
    });
  });
}

describe('sleep', () => {
  it('resolves after the time has passed', async () => {
    const { sleep } = await load(false);
    const start = performance.now();
    await sleep(5);
    expect(performance.now() - start).toBeGreaterThanOrEqual(4);
  });

  it('resolves at once when the signal aborts, or has aborted, and never rejects', async () => {
    const { sleep } = await load(false);
    const controller = new AbortController();
    const slept = sleep(60_000, controller.signal);
    controller.abort();
    await slept;
    await sleep(60_000, AbortSignal.abort());
  });
});
