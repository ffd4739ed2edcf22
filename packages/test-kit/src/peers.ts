import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, it } from 'vitest';

const EXTRA_DIRS = ['/usr/sbin', '/sbin', '/usr/lib/xen-4.17/bin'];

/** Absolute path of a program on PATH (or in the sbin and Xen tool folders), or undefined. */
export function findPeer(program: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...EXTRA_DIRS];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** CI sets BLK_REQUIRE_PEERS=1: then a missing peer fails instead of skipping. */
export function peersRequired(): boolean {
  return process.env.BLK_REQUIRE_PEERS === '1';
}

/**
 * `describe` that runs only when every program is installed. A missing one skips the block with a
 * one-line reason, or, under BLK_REQUIRE_PEERS=1, registers a failing test naming it.
 */
export function describeWithPeers(title: string, programs: readonly string[], body: (paths: Record<string, string>) => void): void {
  const paths: Record<string, string> = {};
  const missing: string[] = [];
  for (const program of programs) {
    const found = findPeer(program);
    if (found) paths[program] = found;
    else missing.push(program);
  }
  if (missing.length === 0) {
    describe(title, () => {
      body(paths);
    });
    return;
  }
  const reason = `needs ${missing.join(', ')} (apt-get install the Debian peers; see .ci/run)`;
  if (peersRequired()) {
    describe(title, () => {
      it(`has its peers installed`, () => {
        throw new Error(`${reason}; BLK_REQUIRE_PEERS=1 makes this a failure`);
      });
    });
  } else {
    describe.skip(`${title} — skipped: ${reason}`, () => {
      it('skipped', () => undefined);
    });
  }
}
