import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { REPORT_GLOBAL } from './results.js';
import { servePages } from './serve.js';

const LAUNCH_TIMEOUT_MS = 30_000;

/** One bundled ES module to run on its own page, or in a dedicated worker started by that page. */
export interface ChromiumJob {
  readonly script: string;
  readonly inWorker: boolean;
}

/** What a job handed back: the page's REPORT_GLOBAL (set by the module, or by the worker's message). */
export type ChromiumOutcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string };

function pageHtml(inWorker: boolean): string {
  const loadError = `window.${REPORT_GLOBAL} ??= { results: [], error: 'the module failed to load: ' + (event.error?.stack ?? event.message) }`;
  if (!inWorker)
    return `<!doctype html><script>addEventListener('error', (event) => { ${loadError} });</script><script type="module" src="main.js"></script>`;
  return `<!doctype html><script type="module">
const worker = new Worker('main.js', { type: 'module' });
worker.onmessage = (message) => { window.${REPORT_GLOBAL} = message.data; };
worker.onerror = (event) => { ${loadError} };
</script>`;
}

/**
 * Serves each job from a loopback HTTP server and runs it on its own page of one headless
 * Chromium, until the module hands back its result or `timeoutMs` passes. The browser has a real
 * profile in a temporary directory (not an in-memory incognito one), so OPFS files are files on
 * disk. Every wait is bounded; the browser, the server and the profile go whatever happens.
 */
export async function runInChromium(executablePath: string, jobs: readonly ChromiumJob[], timeoutMs: number): Promise<ChromiumOutcome[]> {
  const pages = new Map<string, string>();
  for (const [i, job] of jobs.entries()) {
    pages.set(`/${i}/`, pageHtml(job.inWorker));
    pages.set(`/${i}/main.js`, job.script);
  }
  const server = await servePages(pages);
  const profile = mkdtempSync(join(tmpdir(), 'blk-chromium-'));
  let browser: BrowserContext | undefined;
  try {
    browser = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: ['--no-sandbox'],
      timeout: LAUNCH_TIMEOUT_MS,
    });
    const outcomes: ChromiumOutcome[] = [];
    for (const i of jobs.keys()) {
      const page = await browser.newPage();
      try {
        await page.goto(`${server.origin}/${i}/`, { timeout: LAUNCH_TIMEOUT_MS });
        await page.waitForFunction((name) => (window as unknown as Record<string, unknown>)[name] !== undefined, REPORT_GLOBAL, {
          timeout: timeoutMs,
          polling: 100,
        });
        outcomes.push({
          ok: true,
          value: await page.evaluate((name) => (window as unknown as Record<string, unknown>)[name], REPORT_GLOBAL),
        });
      } catch (error) {
        outcomes.push({ ok: false, error: error instanceof Error ? error.message : String(error) });
      } finally {
        await page.close();
      }
    }
    return outcomes;
  } finally {
    await browser?.close();
    await server.stop();
    rmSync(profile, { recursive: true, force: true });
  }
}
