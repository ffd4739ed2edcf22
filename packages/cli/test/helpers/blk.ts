import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { run, startProcess, type RunOptions, type RunResult } from '@blk/test-kit';

/** The built binary, exactly what `bin.blk` points at. */
export const BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));

function built(): string {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build first (pnpm turbo run build --filter=@blk/cli...)`);
  return BIN;
}

/** Runs `blk ARGS…` to completion (bounded: 60 s by default). */
export function blk(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return run(process.execPath, [built(), ...args], { timeoutMs: 60_000, ...options });
}

/** Starts a long-running `blk ARGS…` (serve, xenstored, a long copy); `stop()` ends it. */
export function startBlk(args: readonly string[], options: Parameters<typeof startProcess>[2] = {}): ReturnType<typeof startProcess> {
  return startProcess(process.execPath, [built(), ...args], options);
}

/** Resolves with the exit status and signal once the child has exited. */
export function exited(child: ReturnType<typeof startProcess>['child']): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
    });
  });
}
