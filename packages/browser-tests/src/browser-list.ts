import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The repository root (this file is in packages/browser-tests/src). */
export const ROOT = join(import.meta.dirname, '..', '..', '..');

/** One test file of the browser run. */
export interface BrowserTestFile {
  readonly packageName: string;
  /** Relative to the package, as listed. */
  readonly file: string;
  readonly absolute: string;
  /** `*.worker.ts` files run in a dedicated worker (where OPFS sync access handles exist). */
  readonly inWorker: boolean;
}

/** Every test file listed in scripts/browser-packages.json, in list order. */
export function browserTestFiles(): BrowserTestFile[] {
  const list = JSON.parse(readFileSync(join(ROOT, 'scripts', 'browser-packages.json'), 'utf8')) as { packages: Record<string, string[]> };
  return Object.entries(list.packages).flatMap(([packageName, files]) =>
    files.map((file) => ({
      packageName,
      file,
      absolute: join(ROOT, 'packages', packageName, file),
      inWorker: file.endsWith('.worker.ts'),
    })),
  );
}
