import { REPORT_GLOBAL, type BrowserFileReport, type BrowserTestResult } from '../results.js';
import { rootSuite, type Suite, type Test, type TestContext } from './registry.js';

/** vitest's testTimeout in this repository (vitest.shared.ts). */
const DEFAULT_TIMEOUT_MS = 30_000;

/** Thrown by ctx.skip(): the test stops there and counts as skipped with the note. */
class Skip extends Error {
  constructor(readonly note: string | undefined) {
    super(`skipped: ${note ?? 'no reason given'}`);
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error)
    return error.stack?.includes(error.message) ? error.stack : `${error.name}: ${error.message}\n${error.stack ?? ''}`;
  return String(error);
}

/** Runs `body`, failing it when it has not settled within `ms` (the body itself cannot be stopped). */
async function bounded(body: () => unknown, ms: number, what: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what} timed out after ${ms} ms`));
    }, ms);
  });
  try {
    await Promise.race([Promise.resolve().then(body), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function eachHooks(suite: Suite, kind: 'beforeEach' | 'afterEach'): (() => unknown)[] {
  const chain: Suite[] = [];
  for (let s: Suite | undefined = suite; s; s = s.parent) chain.unshift(s);
  const hooks = chain.flatMap((s) => s.hooks[kind]);
  return kind === 'afterEach' ? hooks.reverse() : hooks;
}

async function runTest(test: Test, suite: Suite, path: readonly string[], out: BrowserTestResult[]): Promise<void> {
  if (test.skip || !test.fn) {
    out.push({ path, title: test.title, state: 'skipped' });
    return;
  }
  const fn = test.fn;
  const context: TestContext = {
    skip(note?: string): never {
      throw new Skip(note);
    },
  };
  let result: BrowserTestResult = { path, title: test.title, state: 'passed' };
  try {
    for (const hook of eachHooks(suite, 'beforeEach')) await bounded(hook, DEFAULT_TIMEOUT_MS, 'beforeEach');
    await bounded(() => fn(context), test.timeout ?? DEFAULT_TIMEOUT_MS, 'test');
  } catch (error) {
    result =
      error instanceof Skip
        ? { path, title: test.title, state: 'skipped', note: error.note }
        : { path, title: test.title, state: 'failed', note: describeError(error) };
  }
  for (const hook of eachHooks(suite, 'afterEach')) {
    try {
      await bounded(hook, DEFAULT_TIMEOUT_MS, 'afterEach');
    } catch (error) {
      if (result.state !== 'failed') result = { path, title: test.title, state: 'failed', note: `afterEach: ${describeError(error)}` };
    }
  }
  out.push(result);
}

/** Every test below `suite`, failed: what a failing beforeAll leaves. */
function failAll(suite: Suite, path: readonly string[], out: BrowserTestResult[], why: string): void {
  for (const child of suite.children) {
    if (child.kind === 'test') out.push({ path, title: child.title, state: 'failed', note: why });
    else failAll(child, [...path, child.title], out, why);
  }
}

async function runSuite(suite: Suite, path: readonly string[], out: BrowserTestResult[]): Promise<void> {
  try {
    for (const hook of suite.hooks.beforeAll) await bounded(hook, DEFAULT_TIMEOUT_MS, 'beforeAll');
  } catch (error) {
    failAll(suite, path, out, `beforeAll failed: ${describeError(error)}`);
    return;
  }
  for (const child of suite.children) {
    if (child.kind === 'test') await runTest(child, suite, path, out);
    else await runSuite(child, [...path, child.title], out);
  }
  for (const hook of suite.hooks.afterAll) await bounded(hook, DEFAULT_TIMEOUT_MS, 'afterAll');
}

const unhandled: string[] = [];
globalThis.addEventListener('unhandledrejection', (event: PromiseRejectionEvent) => {
  unhandled.push(describeError(event.reason));
});
globalThis.addEventListener('error', (event: ErrorEvent) => {
  unhandled.push(describeError(event.error ?? event.message));
});

/** Runs every test the file registered, in order, one at a time, as vitest runs one file. */
export async function runRegistered(): Promise<BrowserFileReport> {
  const results: BrowserTestResult[] = [];
  try {
    await runSuite(rootSuite, [], results);
    return { results, unhandled };
  } catch (error) {
    return { results, unhandled, error: describeError(error) };
  }
}

/** Hands the report to Node: on the page's global, or to the page that started this worker. */
export function report(fileReport: BrowserFileReport): void {
  const scope = globalThis as unknown as { postMessage?: (message: unknown) => void; document?: unknown };
  if (scope.document === undefined && scope.postMessage) scope.postMessage(fileReport);
  else (globalThis as Record<string, unknown>)[REPORT_GLOBAL] = fileReport;
}
