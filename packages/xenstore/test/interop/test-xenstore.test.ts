import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPeers, runOk } from '@blk/test-kit';
import { startHarness, type Harness } from '../helpers/harness.js';

/**
 * Xen's own conformance program. It connects with libxenstore (XENSTORED_PATH), works under the
 * relative path xenstore-test/<pid> (so /local/domain/0/... for a socket client), and exits 0
 * only if all 12 tests pass: reads and writes of 1 and 2000 bytes, directory, rm, and the
 * transaction tests (empty, abort, read-modify-write, conflict).
 */
describeWithPeers("Xen's test-xenstore against our server", ['test-xenstore'], (bin) => {
  let h: Harness;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    h = await startHarness();
    env = { ...process.env, XENSTORED_PATH: h.socket };
  });
  afterAll(async () => {
    await h.close();
  });

  it('passes every test', async () => {
    const { stdout } = await runOk(bin['test-xenstore']!, [], { env, timeoutMs: 60_000 });
    const lines = stdout.trim().split('\n');
    const names = [
      'read 1',
      'read 2000',
      'write 1',
      'write 2000',
      'dir',
      'rm node',
      'rm dir',
      'ta empty',
      'ta empty x',
      'ta rmw',
      'ta rmw x',
      'ta err',
    ];
    for (const name of names) expect(lines.some((l) => l.startsWith(name.padEnd(10)) && l.endsWith(' ns'))).toBe(true);
    expect(stdout).not.toContain('failed');
    // It cleans up after itself.
    expect(h.server.node('/local/domain/0/xenstore-test')).toBeUndefined();
  });

  it('passes with many iterations of each test', async () => {
    const { stdout } = await runOk(bin['test-xenstore']!, ['-i', '25'], { env, timeoutMs: 60_000 });
    expect(stdout).not.toContain('failed');
    expect(stdout.match(/avg:/g)).toHaveLength(12);
  });

  it('passes its random mode', async () => {
    const { stdout } = await runOk(bin['test-xenstore']!, ['-r', '2'], { env, timeoutMs: 60_000 });
    expect(stdout).not.toContain('failed');
  });
});
