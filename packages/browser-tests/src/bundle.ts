import { build, type Plugin } from 'esbuild';
import { join } from 'node:path';

const PAGE_DIR = join(import.meta.dirname, 'page');
const ENTRY = 'blk-browser-entry';

/** Entry modules made up on the fly: `blk-browser-entry:N` is the Nth source given. */
function entries(sources: readonly string[]): Plugin {
  return {
    name: ENTRY,
    setup(plugin) {
      plugin.onResolve({ filter: new RegExp(`^${ENTRY}:`) }, (args) => ({ path: args.path, namespace: ENTRY }));
      plugin.onLoad({ filter: /.*/, namespace: ENTRY }, (args) => ({
        contents: sources[Number(args.path.slice(ENTRY.length + 1))]!,
        resolveDir: PAGE_DIR,
        loader: 'ts',
      }));
    },
  };
}

/** One self-contained ES module per source, from a single esbuild run (the shared code is parsed once). */
async function bundle(sources: readonly string[]): Promise<string[]> {
  const result = await build({
    entryPoints: sources.map((_, i) => ({ in: `${ENTRY}:${i}`, out: `entry-${i}` })),
    plugins: [entries(sources)],
    alias: { vitest: join(PAGE_DIR, 'vitest-shim.ts') },
    // The packages say "sideEffects": false, which would let esbuild drop the test file's import.
    ignoreAnnotations: true,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outdir: 'out',
    write: false,
    logLevel: 'silent',
  });
  return sources.map((_, i) => result.outputFiles.find((file) => file.path.endsWith(`entry-${i}.js`))!.text);
}

/**
 * For each test file, one ES module for the browser: the runner, then the test file (its imports
 * of 'vitest' go to the page's own describe/it/expect), then a run that reports the results.
 */
export function bundleTestFiles(absolute: readonly string[]): Promise<string[]> {
  const runner = JSON.stringify(join(PAGE_DIR, 'run-tests.ts'));
  return bundle(
    absolute.map(
      (file) => `import { report, runRegistered } from ${runner};\nimport ${JSON.stringify(file)};\nreport(await runRegistered());\n`,
    ),
  );
}

/** A module that hands its result back itself (a benchmark posting its rows), bundled alone. */
export async function bundleModule(absolute: string): Promise<string> {
  const [script] = await bundle([`import ${JSON.stringify(absolute)};\n`]);
  return script!;
}
