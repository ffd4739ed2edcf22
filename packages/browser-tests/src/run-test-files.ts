import type { BrowserTestFile } from './browser-list.js';
import { bundleTestFiles } from './bundle.js';
import { runInChromium } from './chromium.js';
import type { BrowserFileReport } from './results.js';

/** The longest one test file may take in the page, all its tests together. */
const FILE_TIMEOUT_MS = 240_000;

function failed(error: unknown): BrowserFileReport {
  return { results: [], error: error instanceof Error ? error.message : String(error) };
}

/**
 * Bundles the test files (one esbuild run; a file that does not bundle fails them all, with
 * esbuild's message in each report) and runs each in Chromium.
 */
export async function runTestFiles(executablePath: string, files: readonly BrowserTestFile[]): Promise<BrowserFileReport[]> {
  let scripts: string[];
  try {
    scripts = await bundleTestFiles(files.map((file) => file.absolute));
  } catch (error) {
    return files.map(() => failed(error));
  }
  const outcomes = await runInChromium(
    executablePath,
    scripts.map((script, i) => ({ script, inWorker: files[i]!.inWorker })),
    FILE_TIMEOUT_MS,
  );
  return outcomes.map((outcome) => (outcome.ok ? (outcome.value as BrowserFileReport) : failed(outcome.error)));
}
