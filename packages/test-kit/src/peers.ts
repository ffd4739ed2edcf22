import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describeWhen } from './requirements.js';

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

/**
 * `describe` that runs only when every program is installed. A missing one skips every test of the
 * block (each reported skipped) with a one-line reason, or, under BLK_REQUIRE_PEERS=1, registers a
 * failing test naming it. The body of a skipped block gets each missing program's bare name.
 */
export function describeWithPeers(title: string, programs: readonly string[], body: (paths: Record<string, string>) => void): void {
  const paths: Record<string, string> = {};
  const missing: string[] = [];
  for (const program of programs) {
    const found = findPeer(program);
    paths[program] = found ?? program;
    if (!found) missing.push(program);
  }
  const reason = missing.length === 0 ? undefined : `needs ${missing.join(', ')} (apt-get install the Debian peers; see .ci/run)`;
  describeWhen(title, reason, () => {
    body(paths);
  });
}
