import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Missing } from '@blk/test-kit';
import { nativeStatus } from '../../src/index.js';

/** Child-process tests import the built package: they need `dist/` (`pnpm build`). */
export const distMissing: Missing = existsSync(fileURLToPath(new URL('../../dist/index.js', import.meta.url)))
  ? undefined
  : 'needs dist/ (run pnpm build)';

/** The mmap engine needs the @blk/fmap-native addon. */
export function nativeMissing(): Missing {
  const status = nativeStatus();
  return status.available ? undefined : `needs the @blk/fmap-native addon (${status.reason})`;
}
