import { waitFor } from '@blk/test-kit';
import { startBlk } from './blk.js';

export interface ServeHandle {
  readonly process: ReturnType<typeof startBlk>;
  /** The URIs `blk serve` printed, in order. */
  readonly uris: string[];
  /** The ready-to-paste commands it printed under "Try:". */
  readonly hints: string[];
}

/** Starts `blk serve ARGS…` and waits until it says it is ready (at most 20 s). */
export async function startServe(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<ServeHandle> {
  const process = startBlk(['serve', ...args], env ? { env } : {});
  try {
    await waitFor(
      () => process.output().includes('Press Ctrl-C to stop.') || process.child.exitCode !== null,
      'blk serve to be ready',
      20_000,
    );
  } catch (error) {
    await process.stop();
    throw new Error(`${(error as Error).message}\n${process.output()}`, { cause: error });
  }
  if (process.child.exitCode !== null) throw new Error(`blk serve exited ${process.child.exitCode}:\n${process.output()}`);
  const lines = process.output().split('\n');
  const uris = lines.filter((l) => /^ {2}nbds?(\+unix)?:\/\//.test(l)).map((l) => l.trim());
  const start = lines.indexOf('Try:');
  const hints: string[] = [];
  for (let i = start + 1; i < lines.length && lines[i]!.startsWith('  '); i++) hints.push(lines[i]!.trim());
  return { process, uris, hints };
}
