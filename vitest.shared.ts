import { defineConfig } from 'vitest/config';

/**
 * The test settings every package shares: tests in test/, a JSON report beside the package
 * (summed by scripts/count-results.mjs for CI's closing line), generous timeouts for interop tests
 * that start real programs.
 */
export function packageTestConfig(options: { testTimeout?: number; fileParallelism?: boolean } = {}) {
  return defineConfig({
    test: {
      include: ['test/**/*.test.ts'],
      reporters: ['default', 'json'],
      outputFile: { json: 'test-results.json' },
      testTimeout: options.testTimeout ?? 30_000,
      hookTimeout: 60_000,
      fileParallelism: options.fileParallelism ?? true,
    },
  });
}
