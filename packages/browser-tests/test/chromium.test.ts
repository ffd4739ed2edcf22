import { describeWithPeers, findPeer } from '@blk/test-kit';
import { describe, it } from 'vitest';
import { browserTestFiles } from '../src/browser-list.js';
import { runTestFiles } from '../src/run-test-files.js';
import { registerReport } from '../src/register-results.js';

// The files of scripts/browser-packages.json run in Chromium while this file is collected; their
// results then become this file's tests, one for one.
const files = browserTestFiles();
const chromium = findPeer('chromium');
const reports = chromium === undefined ? undefined : await runTestFiles(chromium, files);

describeWithPeers('headless Chromium', ['chromium'], () => {
  for (const [i, file] of files.entries()) {
    const title = `${file.packageName}/${file.file}`;
    if (reports) registerReport(title, reports[i]!);
    else describe(title, () => it('runs in Chromium', () => undefined));
  }
});
