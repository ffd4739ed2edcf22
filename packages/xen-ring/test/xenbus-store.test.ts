import { isBlockError } from '@blk/core';
import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { MemoryXenbusStore, PortXenbusStore, notYet, serveStoreOverPort, type XenbusStore } from '../src/index.js';

async function codeOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return (error as { code?: unknown }).code;
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Runs the same checks on the in-memory store and on it carried over a MessagePort. */
function storeTests(name: string, make: () => { outer: MemoryXenbusStore; store: XenbusStore; close: () => void }) {
  describe(name, () => {
    it('reads what was written, lists children, fails ENOENT for missing nodes and removes subtrees', async () => {
      const { store, close } = make();
      try {
        await store.immediate(async (h) => {
          await h.write('/a/b/c', 'x');
          expect(await h.read('/a/b/c')).toBe('x');
          expect(await h.read('/a/b')).toBe('');
          expect(await h.directory('/a')).toEqual(['b']);
          expect(await codeOf(h.read('/nope'))).toBe('ENOENT');
          expect(await codeOf(h.directory('/nope'))).toBe('ENOENT');
          await h.rm('/a/b');
          expect(await codeOf(h.read('/a/b/c'))).toBe('ENOENT');
          await h.rm('/a/zzz');
          expect(await codeOf(h.rm('/q/r/s'))).toBe('ENOENT');
          expect(await codeOf(h.write('relative', 'v'))).toBe('EINVAL');
          expect(await h.getdomainpath(3)).toBe('/local/domain/3');
        });
      } finally {
        close();
      }
    });

    it('transactions read a snapshot, apply at commit, and rerun on conflict', async () => {
      const { outer, store, close } = make();
      try {
        await outer.immediate((h) => h.write('/t/x', '1'));
        let runs = 0;
        const result = await store.transaction(async (h) => {
          runs++;
          const x = await h.read('/t/x');
          if (runs === 1) {
            await outer.immediate((o) => o.write('/t/x', '2'));
            expect(await h.read('/t/x')).toBe('1');
          }
          await h.write('/t/y', `saw ${x}`);
          return x;
        });
        expect(runs).toBe(2);
        expect(result).toBe('2');
        expect(outer.dump('/t')['/t/y']).toBe('saw 2');
      } finally {
        close();
      }
    });

    it('a transaction whose body throws changes nothing', async () => {
      const { outer, store, close } = make();
      try {
        const attempt = store.transaction(async (h) => {
          await h.write('/u', 'v');
          throw Object.assign(new Error('stop'), { code: 'ESTOP' });
        });
        expect(await codeOf(attempt)).toBe('ESTOP');
        expect(outer.dump()['/u']).toBeUndefined();
      } finally {
        close();
      }
    });

    it('wait reruns its callback when a path it read changes, not for others, until it returns', async () => {
      const { outer, store, close } = make();
      try {
        let runs = 0;
        const waiting = store.wait(async (h) => {
          runs++;
          const v = await h.read('/w/state').catch(() => undefined);
          if (v !== '4') throw notYet();
          return v;
        });
        for (let i = 0; i < 20 && runs === 0; i++) await tick();
        expect(runs).toBe(1);
        await outer.immediate((h) => h.write('/other', '1'));
        for (let i = 0; i < 5; i++) await tick();
        expect(runs).toBe(1);
        await outer.immediate((h) => h.write('/w/state', '2'));
        for (let i = 0; i < 20 && runs < 2; i++) await tick();
        expect(runs).toBe(2);
        await outer.immediate((h) => h.write('/w/state', '4'));
        expect(await waiting).toBe('4');
        // The second run may already read '4' when its read crosses the port after the write.
        expect(runs).toBeGreaterThanOrEqual(2);
        expect(runs).toBeLessThanOrEqual(3);
      } finally {
        close();
      }
    });

    it('wait rejects when aborted', async () => {
      const { store, close } = make();
      try {
        const abort = new AbortController();
        const waiting = store.wait(
          async (h) => {
            await h.read('/never').catch(() => undefined);
            throw notYet();
          },
          { signal: abort.signal },
        );
        await tick();
        abort.abort();
        await expect(waiting).rejects.toThrow();
      } finally {
        close();
      }
    });
  });
}

storeTests('MemoryXenbusStore', () => {
  const outer = new MemoryXenbusStore();
  return { outer, store: outer, close: () => undefined };
});

storeTests('PortXenbusStore over a MessageChannel', () => {
  const outer = new MemoryXenbusStore();
  const channel = new MessageChannel();
  const served = serveStoreOverPort(outer, channel.port1);
  const store = new PortXenbusStore(channel.port2);
  return {
    outer,
    store,
    close: () => {
      served.close();
      store.close();
    },
  };
});

describe('MemoryXenbusStore conflicts', () => {
  it('failNextCommits makes transactions rerun, and a persistent conflict ends in EAGAIN', async () => {
    const store = new MemoryXenbusStore({ maxAttempts: 3 });
    let runs = 0;
    store.failNextCommits(2);
    await store.transaction(async (h) => {
      runs++;
      await h.write('/k', String(runs));
    });
    expect(runs).toBe(3);
    expect(store.dump()['/k']).toBe('3');
    store.failNextCommits(3);
    expect(await codeOf(store.transaction(async (h) => h.write('/k', 'never')))).toBe('EAGAIN');
    expect(store.dump()['/k']).toBe('3');
  });
});

describe('stores given values whose String() throws', () => {
  const hostile = { toString: [] };

  it('MemoryXenbusStore rejects (never throws) when a path cannot even be shown', async () => {
    const store = new MemoryXenbusStore();
    // checkPath's JSON.stringify runs toJSON, which throws the hostile value
    const path = {
      toJSON: () => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error
        throw hostile;
      },
    } as unknown as string;
    await store.immediate(async (h) => {
      let pending: Promise<string> | undefined;
      expect(() => (pending = h.read(path))).not.toThrow();
      const error: unknown = await pending!.catch((e: unknown) => e);
      expect(isBlockError(error, 'IO')).toBe(true);
      expect((error as Error).cause).toBe(hostile);
    });
  });

  it('PortXenbusStore turns such a throw or rejection of its callback into an Error rejection', async () => {
    const channel = new MessageChannel();
    const served = serveStoreOverPort(new MemoryXenbusStore(), channel.port1);
    const store = new PortXenbusStore(channel.port2);
    try {
      const thrown: unknown = await store
        .immediate(() => {
          // eslint-disable-next-line @typescript-eslint/only-throw-error
          throw hostile;
        })
        .catch((e: unknown) => e);
      expect(thrown).toBeInstanceOf(Error);
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      const rejected: unknown = await store.transaction(() => Promise.reject(hostile)).catch((e: unknown) => e);
      expect(rejected).toBeInstanceOf(Error);
      expect(await store.immediate(async (h) => h.directory('/'))).toEqual([]);
    } finally {
      served.close();
      store.close();
    }
  });
});
