import { spawn } from 'node:child_process';
import { waitFor } from '@blk/test-kit';
import { expect } from 'vitest';

/**
 * Runs `node script …args`, waits until it prints "R" (ready, at most 20 s), lets it work for
 * `delayMs`, then kills it with SIGKILL. Asserts it died of that signal with nothing on stderr;
 * returns the lines it printed.
 */
export async function runAndKill(script: string, args: readonly string[], delayMs: number): Promise<string[]> {
  const proc = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
  });
  try {
    await waitFor(() => out.startsWith('R\n') || proc.exitCode !== null, 'the crash child to start', 20_000);
    await new Promise((r) => setTimeout(r, delayMs));
  } finally {
    proc.kill('SIGKILL');
  }
  const { code, signal } = await exited;
  expect(err, `child stderr (exit ${code ?? signal})`).toBe('');
  expect(signal).toBe('SIGKILL');
  return out.split('\n').filter((line) => line.length > 0);
}
