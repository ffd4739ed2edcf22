import { peersRequired } from '@blk/test-kit';
import { describe, it } from 'vitest';
import { nativeStatus, type BlockFileOptions } from '../../src/index.js';

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
    const status = nativeStatus();
    if (engine.name === 'mmap' && !status.available) {
      if (peersRequired()) {
        describe(`${title} [mmap]`, () => {
          it('has the native addon built', () => {
            throw new Error(`${status.reason}; BLK_REQUIRE_PEERS=1 makes this a failure`);
          });
        });
      } else {
        describe.skip(`${title} [mmap] — skipped: ${status.reason}`, () => {
          it('skipped', () => undefined);
        });
      }
      continue;
    }
    describe(`${title} [${engine.name}]`, () => {
      body(engine);
    });
  }
}

/** A describe block that needs the native addon (skipped, or failing under BLK_REQUIRE_PEERS=1, without it). */
export function describeNative(title: string, body: () => void): void {
  describeEngines(title, ({ name }) => {
    if (name === 'mmap') body();
    else it.skip('runs in the [mmap] block', () => undefined);
  });
}
