import { build } from 'esbuild';
import { join } from 'node:path';

const PAGE_DIR = join(import.meta.dirname, 'page');

async function bundle(entry: { stdin: string; name: string } | { file: string }): Promise<string> {
  const result = await build({
    ...('file' in entry
      ? { entryPoints: [entry.file] }
      : { stdin: { contents: entry.stdin, resolveDir: PAGE_DIR, loader: 'ts' as const, sourcefile: entry.name } }),
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

/**
 * One ES module for the browser: the runner, then the test file (its imports of 'vitest' go to
 * the page's own describe/it/expect), then a run that reports the results.
 */
export function bundleTestFile(absolute: string, title: string): Promise<string> {
  const runner = JSON.stringify(join(PAGE_DIR, 'run-tests.ts'));
  return bundle({ stdin: `import { report, runRegistered } from ${runner};\nimport ${JSON.stringify(absolute)};\nreport(await runRegistered());\n`, name: `${title} (browser entry)` });
}

/** A module that hands its result back itself (a benchmark posting its rows), bundled alone. */
export function bundleModule(absolute: string): Promise<string> {
  return bundle({ file: absolute });
}
