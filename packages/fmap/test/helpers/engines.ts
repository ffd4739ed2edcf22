import { describeWhen } from '@blk/test-kit';
import { describe } from 'vitest';
import type { BlockFileOptions } from '../../src/index.js';
import { nativeMissing } from './missing.js';

export interface EngineCase {
  readonly name: 'pread' | 'mmap';
  readonly options: BlockFileOptions;
}

const ENGINES: readonly EngineCase[] = [
  { name: 'pread', options: { engine: 'pread', cacheBytes: 64 * 1024 } },
  { name: 'mmap', options: { engine: 'mmap' } },
];

/**
 * Runs `body` once per storage engine. The mmap engine needs @blk/fmap-native: without it the
 * block is skipped with the reason, or fails under BLK_REQUIRE_PEERS=1 (CI builds the addon).
 */
export function describeEngines(title: string, body: (engine: EngineCase) => void): void {
  for (const engine of ENGINES) {
    const named = `${title} [${engine.name}]`;
    if (engine.name === 'mmap') {
      describeWhen(named, nativeMissing(), () => {
        body(engine);
      });
    } else {
      describe(named, () => {
        body(engine);
      });
    }
  }
}

/** A describe block that needs the native addon (skipped, or failing under BLK_REQUIRE_PEERS=1, without it). */
export function describeNative(title: string, body: () => void): void {
  describeWhen(`${title} [mmap]`, nativeMissing(), body);
}
