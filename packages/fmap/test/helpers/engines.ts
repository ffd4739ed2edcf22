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

/** Registers `body` under `title`, or a skip (a failure under BLK_REQUIRE_PEERS=1) without the addon. */
function describeIfNative(title: string, body: () => void): void {
  const status = nativeStatus();
  if (status.available) {
    describe(title, body);
  } else if (peersRequired()) {
    describe(title, () => {
      it('has the native addon built', () => {
        throw new Error(`${status.reason}; BLK_REQUIRE_PEERS=1 makes this a failure`);
      });
    });
  } else {
    describe.skip(`${title} — skipped: ${status.reason}`, () => {
      it('skipped', () => undefined);
    });
  }
}

/**
 * Runs `body` once per storage engine. The mmap engine needs @blk/fmap-native: without it the
 * block is skipped with the reason, or fails under BLK_REQUIRE_PEERS=1 (CI builds the addon).
 */
export function describeEngines(title: string, body: (engine: EngineCase) => void): void {
  for (const engine of ENGINES) {
    const named = `${title} [${engine.name}]`;
    if (engine.name === 'mmap') {
      describeIfNative(named, () => {
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
  describeIfNative(`${title} [mmap]`, body);
}
