import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client, WatchEvent } from '../src/index.js';
import { startHarness, type Harness } from './helpers/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ listen: false });
});
afterAll(async () => {
  await h.close();
});

const segments = fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 0, maxLength: 3 });
const pathArb = segments.map((s) => ['/wm', ...s].join('/'));
const opArb = fc.oneof(
  fc.record({ op: fc.constant('write' as const), path: pathArb }),
  fc.record({ op: fc.constant('mkdir' as const), path: pathArb }),
  fc.record({ op: fc.constant('rm' as const), path: pathArb }),
  fc.record({ op: fc.constant('setperms' as const), path: pathArb }),
);

interface Change {
  path: string;
  exact: boolean;
}

/** Which changes C xenstored reports for each operation on a dom0-only tree. */
class Model {
  readonly nodes = new Set<string>(['/', '/wm']);

  #create(path: string): void {
    const parent = path.slice(0, path.lastIndexOf('/')) || '/';
    if (!this.nodes.has(parent)) this.#create(parent);
    this.nodes.add(path);
  }

  apply(op: 'write' | 'mkdir' | 'rm' | 'setperms', path: string): Change[] {
    switch (op) {
      case 'write':
        this.#create(path);
        return [{ path, exact: false }];
      case 'mkdir':
        if (this.nodes.has(path)) return [];
        this.#create(path);
        return [{ path, exact: false }];
      case 'setperms':
        return this.nodes.has(path) ? [{ path, exact: false }] : [];
      case 'rm': {
        if (!this.nodes.has(path) || path === '/wm') return [];
        const removed = [...this.nodes].filter((n) => n === path || n.startsWith(`${path}/`));
        for (const n of removed) this.nodes.delete(n);
        return removed.map((n) => ({ path: n, exact: n !== path }));
      }
    }
  }
}

function matches(watch: string, change: Change): boolean {
  if (change.exact) return watch === change.path;
  return change.path === watch || change.path.startsWith(`${watch}/`);
}

describe('watch events against a model', () => {
  it('each change fires exactly the watches C would fire, in order', async () => {
    let round = 0;
    const actor = await h.client(0);
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(pathArb, { minLength: 1, maxLength: 4 }),
        fc.array(opArb, { maxLength: 15 }),
        async (watches, ops) => {
          round++;
          await actor.immediate((x) => x.rm('/wm'));
          await actor.immediate((x) => x.mkdir('/wm'));
          const watcher: Client = await h.client(0);
          const got: WatchEvent[] = [];
          watcher.onWatch((e) => got.push(e));
          const token = `r${round}`;
          for (const w of watches) await watcher.immediate((x) => x.watch(w, token));
          const model = new Model();
          // One group per step (the initial events first); order inside a removal's group is free.
          const expected: string[][] = [watches.map((w) => w)];
          for (const { op, path } of ops) {
            if (op === 'rm' && path === '/wm') continue;
            await actor.immediate(async (x) => {
              if (op === 'write') await x.write(path, 'v');
              else if (op === 'mkdir') await x.mkdir(path);
              else if (op === 'rm') await x.rm(path).catch(() => undefined);
              else await x.setperms(path, ['n0']).catch(() => undefined);
            });
            const group: string[] = [];
            for (const change of model.apply(op, path)) {
              for (const w of watches) if (matches(w, change)) group.push(change.path);
            }
            expected.push(group);
          }
          // The initial event of a last watch arrives after every event queued before it.
          await watcher.immediate((x) => x.watch('/sentinel', 'end'));
          const deadline = Date.now() + 5000;
          while (!got.some((e) => e.token === 'end') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
          await watcher.close();
          const paths = got.filter((e) => e.token === token).map((e) => e.path);
          expect(paths).toHaveLength(expected.flat().length);
          let at = 0;
          for (const group of expected) {
            expect(paths.slice(at, at + group.length).sort()).toEqual([...group].sort());
            at += group.length;
          }
          expect(got[got.length - 1]).toEqual({ path: '/sentinel', token: 'end' });
        },
      ),
      { numRuns: 40 },
    );
  });
});
