// `tsx ../browser-tests/src/run-bench.ts PACKAGE FILE`, a package's `bench` script for code that
// only runs in a browser: bundles FILE, runs it in headless Chromium (in a dedicated worker when
// it ends in .worker.ts), takes the rows it posts back ({ rows } or { error }) and reports them
// with @blk/test-kit's reportBench, so `pnpm bench` tables them with the rest.
import { findPeer, reportBench, type BenchRow } from '@blk/test-kit';
import { resolve } from 'node:path';
import { bundleModule } from './bundle.js';
import { runInChromium } from './chromium.js';

const BENCH_TIMEOUT_MS = 600_000;

const [pkg, file] = process.argv.slice(2);
if (!pkg || !file) {
  console.error('usage: tsx run-bench.ts PACKAGE FILE');
  process.exit(2);
}
const chromium = findPeer('chromium');
if (!chromium) {
  console.error('needs chromium (apt-get install chromium)');
  process.exit(1);
}
const script = await bundleModule(resolve(file));
const [outcome] = await runInChromium(chromium, [{ script, inWorker: file.endsWith('.worker.ts') }], BENCH_TIMEOUT_MS);
if (!outcome?.ok) throw new Error(`the benchmark did not finish in Chromium: ${outcome?.error ?? 'no outcome'}`);
const posted = outcome.value as { rows?: BenchRow[]; error?: string };
if (!Array.isArray(posted.rows)) throw new Error(`the benchmark failed in Chromium: ${posted.error ?? 'it posted no rows'}`);
reportBench(pkg, posted.rows);
