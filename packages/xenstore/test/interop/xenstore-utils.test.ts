import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPeers, run, runOk, startProcess, waitFor } from '@blk/test-kit';
import { connect, type Client } from '../../src/index.js';
import { startHarness, type Harness } from '../helpers/harness.js';

const TOOLS = [
  'xenstore-write',
  'xenstore-read',
  'xenstore-exists',
  'xenstore-rm',
  'xenstore-list',
  'xenstore-ls',
  'xenstore-chmod',
  'xenstore-watch',
];

describeWithPeers('Debian xenstore-utils against our server (XENSTORED_PATH)', TOOLS, (bin) => {
  let h: Harness;
  let client: Client;
  let env: NodeJS.ProcessEnv;
  const tool = (name: string, args: string[]) => runOk(bin[name]!, args, { env, timeoutMs: 10_000 });
  const attempt = (name: string, args: string[]) => run(bin[name]!, args, { env, timeoutMs: 10_000 });

  beforeAll(async () => {
    h = await startHarness();
    env = { ...process.env, XENSTORED_PATH: h.socket };
    client = await connect({ path: h.socket });
  });
  afterAll(async () => {
    await client.close();
    await h.close();
  });

  it('xenstore-write / xenstore-read, one key and several at once (a transaction)', async () => {
    await tool('xenstore-write', ['/u/one', 'hello world']);
    expect((await tool('xenstore-read', ['/u/one'])).stdout).toBe('hello world\n');
    await tool('xenstore-write', ['/u/a', '1', '/u/b', '2', '/u/c', '3']);
    expect((await tool('xenstore-read', ['/u/a', '/u/b', '/u/c'])).stdout).toBe('1\n2\n3\n');
    expect((await tool('xenstore-read', ['-p', '/u/a'])).stdout).toBe('/u/a: 1\n');
    expect(await client.immediate((x) => x.read('/u/c'))).toBe('3');
  });

  it('multi-key tools redo their transaction when the commit answers EAGAIN', async () => {
    h.server.failNextCommits(2);
    await tool('xenstore-write', ['/retry/a', 'x', '/retry/b', 'y']);
    expect(await client.immediate((x) => Promise.all([x.read('/retry/a'), x.read('/retry/b')]))).toEqual(['x', 'y']);
  });

  it('values with escapes and raw bytes survive the round trip', async () => {
    await tool('xenstore-write', ['/u/esc', 'tab\\there\\x01']);
    expect([...(await client.immediate((x) => x.readBytes('/u/esc')))]).toEqual([...Buffer.from('tab\there\x01', 'latin1')]);
    // sanitise_value prints bytes below 010 in octal.
    expect((await tool('xenstore-read', ['/u/esc'])).stdout).toBe('tab\\there\\001\n');
    await client.immediate((x) => x.write('/u/raw', new Uint8Array([0x41, 0x0a, 0x42])));
    expect((await tool('xenstore-read', ['-R', '/u/raw'])).stdout).toBe('A\nB');
  });

  it('missing nodes make the tools fail with exit status 1', async () => {
    const read = await attempt('xenstore-read', ['/does/not/exist']);
    expect(read.code).toBe(1);
    expect(read.stderr).toContain("couldn't read path");
    expect((await attempt('xenstore-exists', ['/does/not/exist'])).code).toBe(1);
    expect((await attempt('xenstore-exists', ['/u/one'])).code).toBe(0);
    expect((await attempt('xenstore-list', ['/does/not'])).code).toBe(1);
    expect((await attempt('xenstore-rm', ['/does/not/exist'])).code).toBe(1);
  });

  it('relative paths are under /local/domain/0 for a socket client', async () => {
    await tool('xenstore-write', ['name', 'Domain-0']);
    expect(await client.immediate((x) => x.read('/local/domain/0/name'))).toBe('Domain-0');
    expect((await tool('xenstore-read', ['name'])).stdout).toBe('Domain-0\n');
  });

  it('xenstore-rm removes a subtree; -t tidies empty parents', async () => {
    await client.immediate(async (x) => {
      await x.write('/rmme/deep/er/leaf', 'v');
      await x.write('/rmme/keep', 'k');
    });
    await tool('xenstore-rm', ['/rmme/deep']);
    expect(await client.immediate((x) => x.directory('/rmme'))).toEqual(['keep']);
    await client.immediate((x) => x.write('/tidy/a/b/c', 'v'));
    await tool('xenstore-rm', ['-t', '/tidy/a/b/c']);
    expect(await client.immediate((x) => x.exists('/tidy'))).toBe(false);
  });

  it('xenstore-list and xenstore-ls -f -p show our tree and permissions', async () => {
    await client.immediate(async (x) => {
      await x.write('/ls/x', 'X');
      await x.write('/ls/y/z', 'Z');
      await x.setperms('/ls/y/z', ['n3', 'r5']);
    });
    expect((await tool('xenstore-list', ['/ls'])).stdout).toBe('x\ny\n');
    expect((await tool('xenstore-list', ['-p', '/ls'])).stdout).toBe('/ls/x\n/ls/y\n');
    const flat = (await tool('xenstore-ls', ['-f', '-p', '/ls'])).stdout.split('\n').filter(Boolean);
    expect(flat).toHaveLength(3);
    expect(flat[0]).toMatch(/^\/ls\/x = "X" .*\(n0\)$/);
    expect(flat[1]).toMatch(/^\/ls\/y = "" .*\(n0\)$/);
    expect(flat[2]).toMatch(/^\/ls\/y\/z = "Z" .*\(n3,r5\)$/);
    const tree = (await tool('xenstore-ls', ['/ls'])).stdout;
    expect(tree).toBe('x = "X"\ny = ""\n z = "Z"\n');
  });

  it('xenstore-chmod sets lists, -u up to the top, -r recursively', async () => {
    await client.immediate((x) => x.write('/ch/a/b', ''));
    await tool('xenstore-chmod', ['/ch/a/b', 'b1', 'r2']);
    expect(h.server.node('/ch/a/b')?.permissions).toEqual([
      { domid: 1, access: 'b' },
      { domid: 2, access: 'r' },
    ]);
    await tool('xenstore-chmod', ['-u', '/ch/a/b', 'n0', 'r7']);
    for (const path of ['/ch', '/ch/a', '/ch/a/b'])
      expect(h.server.node(path)?.permissions.map((p) => `${p.access}${p.domid}`)).toEqual(['n0', 'r7']);
    await tool('xenstore-chmod', ['-r', '/ch', 'w4']);
    for (const path of ['/ch', '/ch/a', '/ch/a/b'])
      expect(h.server.node(path)?.permissions.map((p) => `${p.access}${p.domid}`)).toEqual(['w4']);
    expect((await attempt('xenstore-chmod', ['/ch/none/such', 'n0'])).code).not.toBe(0);
  });

  it('xenstore-watch -n 3 sees the initial event and two changes made by our client', async () => {
    await client.immediate((x) => x.mkdir('/watched'));
    const watcher = startProcess(bin['xenstore-watch']!, ['-n', '3', '/watched'], { env });
    try {
      await waitFor(() => watcher.output().includes('/watched\n'), 'the initial event');
      await client.immediate((x) => x.write('/watched/one', '1'));
      await client.immediate((x) => x.write('/watched/two/deep', '2'));
      await waitFor(() => watcher.child.exitCode !== null, 'xenstore-watch to exit after 3 events');
      expect(watcher.child.exitCode).toBe(0);
      expect(watcher.output()).toBe('/watched\n/watched/one\n/watched/two/deep\n');
    } finally {
      await watcher.stop();
    }
  });

  it('xenstore-watch reports the watch path when an ancestor is removed', async () => {
    await client.immediate((x) => x.write('/anc/mid/leaf', 'x'));
    const watcher = startProcess(bin['xenstore-watch']!, ['-n', '2', '/anc/mid/leaf'], { env });
    try {
      await waitFor(() => watcher.output().includes('/anc/mid/leaf\n'), 'the initial event');
      await client.immediate((x) => x.rm('/anc'));
      await waitFor(() => watcher.child.exitCode !== null, 'xenstore-watch to exit');
      expect(watcher.output()).toBe('/anc/mid/leaf\n/anc/mid/leaf\n');
    } finally {
      await watcher.stop();
    }
  });
});

// The real binary lives beside test-xenstore (xen-utils-4.17); /usr/bin/xenstore-control is a
// wrapper that refuses to run without a hypervisor.
describeWithPeers('xenstore-control against our server', ['xenstore-control', 'test-xenstore'], (bin) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('runs CONTROL commands: help, print, quota, quota set', async () => {
    const env = { ...process.env, XENSTORED_PATH: h.socket };
    const control = join(dirname(bin['test-xenstore']!), 'xenstore-control');
    expect((await runOk(control, ['help'], { env })).stdout).toContain('quota');
    expect((await runOk(control, ['print', 'from the C tool'], { env })).stdout).toBe('OK\n');
    expect((await runOk(control, ['quota'], { env })).stdout).toMatch(/transactions\s+:\s+10 /);
    await runOk(control, ['quota', 'set', 'transactions', '3'], { env });
    expect(h.server.quotas.transactions).toBe(3);
    const bad = await run(control, ['no-such-command'], { env });
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain('Command not supported');
  });
});
