/**
 * What the bundled test files get when they import 'vitest' (esbuild aliases it here): describe,
 * it/test (with .skip, .each), the four hooks and vitest's own `expect`. They only register; the
 * page runs them with runRegistered().
 */
import { rootSuite, type Hook, type Suite, type TestBody } from './registry.js';

export { expect } from './expect.js';

let current: Suite = rootSuite;

type Each = (cases: readonly unknown[]) => (title: string, fn: (...args: never[]) => unknown, timeout?: number) => void;

/** Titles of `.each`: printf-style %s, %i, %d, %j, %o, %% from the case's arguments, in order. */
function formatTitle(title: string, args: readonly unknown[]): string {
  let i = 0;
  return title.replace(/%[sidfjo%]/g, (token) => {
    if (token === '%%') return '%';
    const value = args[i++];
    return token === '%j' || token === '%o' ? JSON.stringify(value) : String(value);
  });
}

function eachOf(register: (title: string, fn: TestBody, timeout?: number) => void): Each {
  return (cases) => (title, fn, timeout) => {
    for (const item of cases) {
      const args = Array.isArray(item) ? (item as unknown[]) : [item];
      register(formatTitle(title, args), () => (fn as (...a: unknown[]) => unknown)(...args), timeout);
    }
  };
}

function addSuite(title: string, body: () => void, skip: boolean): void {
  const suite: Suite = {
    kind: 'suite',
    title,
    skip: skip || current.skip,
    children: [],
    hooks: { beforeAll: [], afterAll: [], beforeEach: [], afterEach: [] },
    parent: current,
  };
  current.children.push(suite);
  const outer = current;
  current = suite;
  try {
    body();
  } finally {
    current = outer;
  }
}

function addTest(title: string, fn: TestBody | undefined, timeout: number | undefined, skip: boolean): void {
  current.children.push({ kind: 'test', title, fn, timeout, skip: skip || current.skip || fn === undefined });
}

export const describe = Object.assign((title: string, body: () => void) => addSuite(title, body, false), {
  skip: (title: string, body: () => void) => addSuite(title, body, true),
});

const testApi = Object.assign((title: string, fn?: TestBody, timeout?: number) => addTest(title, fn, timeout, false), {
  skip: (title: string, fn?: TestBody) => addTest(title, fn, undefined, true),
  todo: (title: string) => addTest(title, undefined, undefined, true),
  each: eachOf((title, fn, timeout) => addTest(title, fn, timeout, false)),
});
export const it = testApi;
export const test = testApi;

function hook(kind: keyof Suite['hooks']): (fn: Hook) => void {
  return (fn) => current.hooks[kind].push(fn);
}
export const beforeAll = hook('beforeAll');
export const afterAll = hook('afterAll');
export const beforeEach = hook('beforeEach');
export const afterEach = hook('afterEach');

/** `vi` needs vitest's module system; a test file using it does not belong in the browser run. */
export const vi = new Proxy(
  {},
  {
    get(_target, name) {
      throw new Error(`vi.${String(name)} is not available in the browser run`);
    },
  },
);
