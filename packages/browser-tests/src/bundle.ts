import { build } from 'esbuild';
import { join } from 'node:path';
import type { BrowserTestFile } from './browser-list.js';

const PAGE_DIR = join(import.meta.dirname, 'page');

/**
 * One ES module for the browser: the runner, then the test file (its imports of 'vitest' go to
 * the page's own describe/it/expect), then a run that reports the results.
 */
export async function bundleTestFile(file: BrowserTestFile): Promise<string> {
  const runner = JSON.stringify(join(PAGE_DIR, 'run-tests.ts'));
  const result = await build({
    stdin: {
      contents: `import { report, runRegistered } from ${runner};\nimport ${JSON.stringify(file.absolute)};\nreport(await runRegistered());\n`,
      resolveDir: PAGE_DIR,
      loader: 'ts',
      sourcefile: `${file.packageName}/${file.file} (browser entry)`,
    },
    alias: { vitest: join(PAGE_DIR, 'vitest-shim.ts') },
    // The packages say "sideEffects": false, which would let esbuild drop the test file's import.
    ignoreAnnotations: true,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}
