import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN } from './helpers/blk.js';

/** Runs blk with its stdout a pipe whose reader is already gone, as after `| head -1`. */
function withClosedStdout(args: readonly string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

describe('blk writing to a closed pipe', () => {
  it.each([
    [['--help']],
    [['--version']],
    [['help', 'copy']],
    [['info', 'ram:1GiB']],
    [['info', 'ram:1GiB', '--json']],
    [['map', 'ram:1GiB']],
    [['bench', 'ram:4MiB', '--requests', '8']],
    [['bench', 'ram:4MiB', '--requests', '8', '--json']],
  ])('%j ends quietly with status 141, as SIGPIPE would end it', async (args) => {
    const r = await withClosedStdout(args);
    expect(r.stderr).toBe('');
    expect(r.signal).toBeNull();
    expect(r.code).toBe(141);
  });
});
