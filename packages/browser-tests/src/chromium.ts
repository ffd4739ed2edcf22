import { chromium, type Browser } from 'playwright-core';
import type { BrowserTestFile } from './browser-list.js';
import { bundleTestFile } from './bundle.js';
import { REPORT_GLOBAL, type BrowserFileReport } from './results.js';
import { servePages } from './serve.js';

/** The longest one test file may take in the page, all its tests together. */
const FILE_TIMEOUT_MS = 240_000;
const LAUNCH_TIMEOUT_MS = 30_000;

function pageHtml(inWorker: boolean): string {
  const loadError = `window.${REPORT_GLOBAL} ??= { results: [], error: 'the test module failed to load: ' + (event.error?.stack ?? event.message) }`;
  if (!inWorker) return `<!doctype html><script>addEventListener('error', (event) => { ${loadError} });</script><script type="module" src="test.js"></script>`;
  return `<!doctype html><script type="module">
const worker = new Worker('test.js', { type: 'module' });
worker.onmessage = (message) => { window.${REPORT_GLOBAL} = message.data; };
worker.onerror = (event) => { ${loadError} };
</script>`;
}

/** A file that could not even start (its bundle failed): reported like a load failure. */
function failed(error: unknown): BrowserFileReport {
  return { results: [], error: error instanceof Error ? error.message : String(error) };
}

/**
 * Bundles each test file, serves it from a loopback server, and runs it in its own page (or a
 * dedicated worker of it) of one headless Chromium. Every wait is bounded; the browser and the
 * server are closed whatever happens.
 */
export async function runInChromium(executablePath: string, files: readonly BrowserTestFile[]): Promise<BrowserFileReport[]> {
  const pages = new Map<string, string>();
  const bundled: (string | undefined)[] = [];
  const bundleErrors: unknown[] = [];
  for (const [i, file] of files.entries()) {
    try {
      pages.set(`/${i}/test.js`, await bundleTestFile(file));
      pages.set(`/${i}/`, pageHtml(file.inWorker));
      bundled.push(`/${i}/`);
    } catch (error) {
      bundled.push(undefined);
      bundleErrors[i] = error;
    }
  }
  const server = await servePages(pages);
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'], timeout: LAUNCH_TIMEOUT_MS });
    const reports: BrowserFileReport[] = [];
    for (const [i, path] of bundled.entries()) {
      if (path === undefined) {
        reports.push(failed(bundleErrors[i]));
        continue;
      }
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        await page.goto(`${server.origin}${path}`, { timeout: LAUNCH_TIMEOUT_MS });
        await page.waitForFunction((name) => (window as unknown as Record<string, unknown>)[name] !== undefined, REPORT_GLOBAL, {
          timeout: FILE_TIMEOUT_MS,
          polling: 100,
        });
        reports.push(await page.evaluate((name) => (window as unknown as Record<string, BrowserFileReport>)[name]!, REPORT_GLOBAL));
      } catch (error) {
        reports.push(failed(error));
      } finally {
        await context.close();
      }
    }
    return reports;
  } finally {
    await browser?.close();
    await server.stop();
  }
}
