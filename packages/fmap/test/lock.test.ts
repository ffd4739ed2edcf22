import { spawn } from 'node:child_process';
import { existsSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isBlockError } from '@blk/core';
import { describeWhen, makeTempDir, waitFor } from '@blk/test-kit';
import { afterAll, expect, it } from 'vitest';
import { BlockFile, isFmapError, openFileDevice } from '../src/index.js';
import { distMissing } from './helpers/missing.js';

const temp = makeTempDir('blk-fmap-lock-');
afterAll(() => temp.remove());
const holder = fileURLToPath(new URL('fixtures/lock-holder.mjs', import.meta.url));

/** Starts a process holding the lock on `path`; resolves once it holds it. */
async function holdInChild(path: string, kind: 'blockfile' | 'device') {
  const child = spawn(process.execPath, [holder, path, kind], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  try {
    await waitFor(() => out.includes('held') || child.exitCode !== null, 'the child to take the lock', 20_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  expect(out).toBe('held\n');
  return {
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

describeWhen('locks across processes', distMissing, () => {
  it('a BlockFile held by another process is E_LOCKED, and free again once that process is killed', async () => {
    const path = join(temp.path, 'held.fmap');
    BlockFile.create(path, { blockSize: 4096 }).close();
    const child = await holdInChild(path, 'blockfile');
    try {
      let code = '';
      try {
        BlockFile.open(path);
      } catch (error) {
        code = isFmapError(error) ? error.code : String(error);
      }
      expect(code).toBe('E_LOCKED');
    } finally {
      await child.kill();
    }
    // the lock file outlived its SIGKILLed owner; its pid is gone, so it is taken over
    expect(existsSync(`${path}.lock`)).toBe(true);
    BlockFile.open(path).close();
  });

  it('a file device held read-write by another process refuses a second writer, not a reader', async () => {
    const path = join(temp.path, 'held.img');
    writeFileSync(path, '');
    truncateSync(path, 64 * 512);
    const child = await holdInChild(path, 'device');
    try {
      let refused: unknown;
      try {
        await openFileDevice(path, { lock: true });
      } catch (error) {
        refused = error;
      }
      expect(isBlockError(refused, 'IO')).toBe(true);
      const reader = await openFileDevice(path, { lock: true, readOnly: true });
      await reader.disconnect();
    } finally {
      await child.kill();
    }
    const writer = await openFileDevice(path, { lock: true });
    await writer.disconnect();
  });
});
