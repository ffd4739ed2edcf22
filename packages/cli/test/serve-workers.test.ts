import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@blk/nbd';
import { makeTempDir, waitFor } from '@blk/test-kit';
import { blk, exited } from './helpers/blk.js';
import { startServe } from './helpers/serve.js';

const MiB = 2 ** 20;

/** The processes `pid` started (Linux: /proc/PID/task/PID/children). */
function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(/\s+/).map(Number);
}

function alive(pid: number): boolean {
  return existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
}

describe('blk serve file: spreads connections over worker processes', () => {
  let dir: { path: string; remove(): void };
  const at = (name: string) => join(dir.path, name);
  beforeAll(() => {
    dir = makeTempDir('blk-cli-workers-');
  });
  afterAll(() => dir.remove());

  it('CAN_MULTI_CONN across processes: writes acknowledged on any connection are seen through every other one, and in the file, after a FLUSH on one', async () => {
    const image = at('multi.img');
    writeFileSync(image, Buffer.alloc(4 * MiB));
    const socket = at('multi.sock');
    const serve = await startServe([`file:${image}`, '--socket', socket, '--workers', '1']);
    try {
      const pid = serve.process.child.pid!;
      expect(childrenOf(pid)).toHaveLength(1);
      // Connections alternate between the worker and the parent (round-robin): with 4, both serve two.
      const writer = await connect({ path: socket, connections: 4 });
      const reader = await connect({ path: socket, connections: 4 });
      const pieces = Array.from({ length: 8 }, () => randomBytes(64 << 10));
      // The device sends requests round-robin over its connections: each write goes out on another one.
      for (const [i, piece] of pieces.entries()) await writer.write((i * (256 << 10)) / 512, [piece]);
      if (!writer.flush) throw new Error('the export must offer FLUSH');
      await writer.flush();
      for (const [i, piece] of pieces.entries()) {
        for (let k = 0; k < 4; k++) {
          const back = Buffer.alloc(piece.length);
          await reader.read((i * (256 << 10)) / 512, [back]);
          expect(back.equals(piece)).toBe(true);
        }
      }
      const file = readFileSync(image);
      for (const [i, piece] of pieces.entries())
        expect(file.subarray(i * (256 << 10), i * (256 << 10) + piece.length).equals(piece)).toBe(true);
      await Promise.all([writer.disconnect(), reader.disconnect()]);
      serve.process.child.kill('SIGTERM');
      expect((await exited(serve.process.child)).code).toBe(0);
      expect(serve.process.output()).toContain('blk serve: stopped\n');
    } finally {
      await serve.process.stop();
    }
  });

  it('SIGTERM stops the workers too; a worker whose parent was killed stops by itself', async () => {
    const image = at('stop.img');
    writeFileSync(image, Buffer.alloc(MiB));
    const first = await startServe([`file:${image}`, '--socket', at('a.sock'), '--workers', '2']);
    let workers: number[] = [];
    try {
      workers = childrenOf(first.process.child.pid!);
      expect(workers).toHaveLength(2);
      first.process.child.kill('SIGTERM');
      expect((await exited(first.process.child)).code).toBe(0);
      await waitFor(() => workers.every((w) => !alive(w)), 'the workers to exit');
    } finally {
      await first.process.stop();
    }
    const second = await startServe([`file:${image}`, '--socket', at('b.sock'), '--workers', '1']);
    try {
      workers = childrenOf(second.process.child.pid!);
      expect(workers).toHaveLength(1);
      second.process.child.kill('SIGKILL');
      await exited(second.process.child);
      await waitFor(() => workers.every((w) => !alive(w)), 'the orphaned worker to exit');
    } finally {
      await second.process.stop();
    }
  });

  it('--workers: only file: SPECs on a socket, 0 to 16', async () => {
    const notFile = await blk(['serve', 'ram:1M', '--socket', at('r.sock'), '--workers', '1']);
    expect(notFile.code).toBe(2);
    expect(notFile.stderr).toContain('--workers needs every SPEC to be a file:');
    for (const bad of ['17', '-1', 'x']) {
      const result = await blk(['serve', `file:${at('stop.img')}`, '--socket', at('x.sock'), '--workers', bad]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/bad --workers|--workers/);
    }
  });
});
