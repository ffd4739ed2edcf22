import type { BrowserTestFile } from './browser-list.js';
import { bundleTestFile } from './bundle.js';
import { runInChromium, type ChromiumJob } from './chromium.js';
import type { BrowserFileReport } from './results.js';

/** The longest one test file may take in the page, all its tests together. */
const FILE_TIMEOUT_MS = 240_000;

function failed(error: unknown): BrowserFileReport {
  return { results: [], error: error instanceof Error ? error.message : String(error) };
}

/** Bundles and runs each test file in Chromium; a file that fails to bundle or run reports why. */
export async function runTestFiles(executablePath: string, files: readonly BrowserTestFile[]): Promise<BrowserFileReport[]> {
  const bundled: (ChromiumJob | BrowserFileReport)[] = [];
  for (const file of files) {
    try {
      bundled.push({ script: await bundleTestFile(file.absolute, `${file.packageName}/${file.file}`), inWorker: file.inWorker });
    } catch (error) {
      bundled.push(failed(error));
    }
  }
  const jobs = bundled.filter((entry): entry is ChromiumJob => 'script' in entry);
  const outcomes = await runInChromium(executablePath, jobs, FILE_TIMEOUT_MS);
  return bundled.map((entry) => {
    if (!('script' in entry)) return entry;
    const outcome = outcomes.shift()!;
    return outcome.ok ? (outcome.value as BrowserFileReport) : failed(outcome.error);
  });
}
