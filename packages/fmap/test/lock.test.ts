import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, truncateSync, writeFileSync } from 'node:fs';
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
const contender = fileURLToPath(new URL('fixtures/lock-contender.mjs', import.meta.url));

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

/** Starts `n` processes that race for the lock on `path` once `go` exists; returns their verdicts. */
async function race(path: string, go: string, n: number): Promise<string[]> {
  const children = Array.from({ length: n }, () => {
    const child = spawn(process.execPath, [contender, path, go], { stdio: ['pipe', 'pipe', 'pipe'] });
    const state = { out: '', child, exited: new Promise<void>((resolve) => child.on('exit', () => resolve())) };
    child.stdout.setEncoding('utf8').on('data', (d: string) => (state.out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (state.out += d));
    return state;
  });
  try {
    await waitFor(() => children.every((c) => c.out.includes('ready\n') || c.child.exitCode !== null), 'the contenders to start', 20_000);
    writeFileSync(go, '');
    await waitFor(() => children.every((c) => /won|lost/.test(c.out) || c.child.exitCode !== null), 'every contender to decide', 20_000);
    return children.map((c) => c.out.replace('ready\n', '').trim());
  } finally {
    for (const c of children) c.child.stdin.end();
    await Promise.all(children.map((c) => c.exited));
  }
}

describeWhen('stale-lock takeover is atomic', distMissing, () => {
  it("of the processes racing to take over a dead holder's lock, exactly one wins, every round", async () => {
    const path = join(temp.path, 'raced.fmap');
    BlockFile.create(path, { blockSize: 4096 }).close();
    for (let round = 0; round < 6; round++) {
      // A lock left by a process that is gone: this version's shape, or an earlier version's file.
      if (round % 2 === 0) {
        mkdirSync(`${path}.lock`);
        writeFileSync(`${path}.lock/2147483646.deadbeef00000000`, '');
      } else {
        writeFileSync(`${path}.lock`, '2147483646 deadbeef\n');
      }
      const verdicts = await race(path, join(temp.path, `go-${round}`), 4);
      expect(
        verdicts.filter((v) => v === 'won'),
        verdicts.join(', '),
      ).toHaveLength(1);
      expect(verdicts.filter((v) => v === 'lost E_LOCKED')).toHaveLength(3);
      // The winner has exited without releasing: its lock is stale for the next round, so clear it.
      const { rmSync } = await import('node:fs');
      rmSync(`${path}.lock`, { recursive: true, force: true });
    }
  });
});
