import { defineConfig } from 'vitest/config';
import type { Reporter } from 'vitest/node';

/**
 * Copies each runtime skip's reason (`ctx.skip(note)`) into the test's meta before the JSON
 * reporter writes it, so scripts/count-results.mjs can tell a skip the device's manifest declares
 * from one that hides tests.
 */
const skipNotes: Reporter = {
  onTestRunEnd(testModules) {
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const result = test.result();
        if (result.state === 'skipped' && result.note) Object.assign(test.meta(), { skipNote: result.note });
      }
    }
  },
};

/**
 * The test settings every package shares: tests in test/, a JSON report beside the package
 * (checked by scripts/count-results.mjs for CI's closing line), generous timeouts for interop tests
 * that start real programs.
 */
export function packageTestConfig(options: { testTimeout?: number; fileParallelism?: boolean } = {}) {
  return defineConfig({
    test: {
      include: ['test/**/*.test.ts'],
      reporters: ['default', skipNotes, 'json'],
      outputFile: { json: 'test-results.json' },
      testTimeout: options.testTimeout ?? 30_000,
      hookTimeout: 60_000,
      fileParallelism: options.fileParallelism ?? true,
    },
  });
}
