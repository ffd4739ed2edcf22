import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPeers, makeTempDir, runOk, waitFor } from '@blk/test-kit';
import { blk, exited, startBlk } from '../helpers/blk.js';

describeWithPeers('blk xenstored with Debian xenstore-utils', ['xenstore-write', 'xenstore-read', 'xenstore-ls'], (peers) => {
  let dir: { path: string; remove(): void };
  const at = (name: string) => join(dir.path, name);
  beforeAll(() => {
    dir = makeTempDir('blk-cli-xs-');
  });
  afterAll(() => dir.remove());

  const start = async (args: string[]) => {
    const server = startBlk(['xenstored', ...args]);
    await waitFor(
      () => server.output().includes('xenstored listening on') || server.child.exitCode !== null,
      'xenstored to listen',
      20_000,
    );
    return server;
  };

  it('serves the xenstore tools, keeps the tree with --persist across a restart, stops on SIGINT with exit 0', async () => {
    const socket = at('xs.sock');
    const tree = at('tree.json');
    const env = { ...process.env, XENSTORED_PATH: socket };
    const first = await start(['--socket', socket, '--persist', tree]);
    try {
      expect(first.output()).toContain(`Try: XENSTORED_PATH=${socket} xenstore-ls /`);
      await runOk(peers['xenstore-write']!, ['/vm/demo/name', 'blk test'], { env });
      const read = await runOk(peers['xenstore-read']!, ['/vm/demo/name'], { env });
      expect(read.stdout).toBe('blk test\n');
      first.child.kill('SIGINT');
      expect((await exited(first.child)).code).toBe(0);
      expect(first.output()).toContain('blk xenstored: stopped by SIGINT');
      expect(existsSync(socket)).toBe(false);
    } finally {
      await first.stop();
    }
    const second = await start(['--socket', socket, '--persist', tree]);
    try {
      const ls = await runOk(peers['xenstore-ls']!, ['/vm'], { env });
      expect(ls.stdout).toContain('name = "blk test"');
      second.child.kill('SIGTERM');
      expect((await exited(second.child)).code).toBe(0);
    } finally {
      await second.stop();
    }
  });

  it('refuses a socket path another server listens on, and a path that is not a socket', async () => {
    const socket = at('busy.sock');
    const server = await start(['--socket', socket]);
    try {
      const r = await blk(['xenstored', '--socket', socket]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`blk: xenstored: cannot listen on ${socket}: another server is listening there\n`);
    } finally {
      await server.stop();
    }
    const file = at('plain-file');
    writeFileSync(file, 'x');
    const r = await blk(['xenstored', '--socket', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`blk: xenstored: cannot listen on ${file}: the path exists and is not a socket\n`);
  });
});
