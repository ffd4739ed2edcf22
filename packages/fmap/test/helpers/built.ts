import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { peersRequired } from '@blk/test-kit';
import { it } from 'vitest';

/** Whether `pnpm build` made dist/ (the child processes of the kill tests import it). */
export const built = existsSync(fileURLToPath(new URL('../../dist/index.js', import.meta.url)));

/** CI (or BLK_REQUIRE_PEERS=1) must run what needs dist/: a missing build fails there instead of skipping. */
function buildRequired(): boolean {
  return peersRequired() || (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false');
}

/**
 * `it` for a test whose child processes import dist/: skipped with the reason when it is not
 * built, or registered as a failure under CI / BLK_REQUIRE_PEERS=1.
 */
export function itWhenBuilt(title: string, fn: () => Promise<void> | void, timeoutMs?: number): void {
  if (built) {
    it(title, fn, timeoutMs);
  } else if (buildRequired()) {
    it(title, () => {
      throw new Error('dist/ is missing: run `pnpm build` first (CI and BLK_REQUIRE_PEERS=1 make this a failure, not a skip)');
    });
  } else {
    it.skip(`${title} — skipped: dist/ is not built (run pnpm build)`, fn);
  }
}
