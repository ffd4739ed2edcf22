import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithPeers, makeTempDir, runOk, waitFor } from '@blk/test-kit';
import { blk, exited, startBlk } from './helpers/blk.js';

const MiB = 2 ** 20;

describe('blk mirror', () => {
  let dir: { path: string; remove(): void };
  let source: string;
  let content: Buffer;
  const at = (name: string) => join(dir.path, name);

  beforeAll(() => {
    dir = makeTempDir('blk-cli-mirror-');
    source = at('primary.img');
    content = randomBytes(16 * MiB);
    writeFileSync(source, content);
  });
  afterAll(() => dir.remove());

  it('makes a new file an exact mirror and exits 0', async () => {
    const dst = at('secondary.img');
    const r = await blk(['mirror', `file:${source}`, `file:${dst}`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^mirror: file:\S+secondary\.img is in sync with file:\S+primary\.img \(16\.0 MiB\) after [\d.]+s\n$/);
    expect(r.stderr).toMatch(/mirror: 100% {2}16\.0 MiB \/ 16\.0 MiB/);
    expect(readFileSync(dst).equals(content)).toBe(true);
  });

  it('overwrites what an existing secondary held', async () => {
    const dst = at('dirty.img');
    writeFileSync(dst, Buffer.alloc(16 * MiB, 0xcc));
    const r = await blk(['mirror', '-q', '--chunk', '256K', `file:${source}`, `file:${dst}`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('');
    expect(readFileSync(dst).equals(content)).toBe(true);
  });

  it('works between memory devices of different sector sizes', async () => {
    const r = await blk(['mirror', 'ram:16M,sector=4096', 'mem:16M']);
    expect(r.code).toBe(0);
  });

  it('refuses a secondary of another size and writes nothing', async () => {
    const dst = at('small.img');
    writeFileSync(dst, Buffer.alloc(8 * MiB, 3));
    const r = await blk(['mirror', `file:${source}`, `file:${dst}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `blk: mirror: DST is ${8 * MiB} bytes but SRC is ${16 * MiB}; a mirror needs the same size; nothing was written\n`,
    );
    expect(readFileSync(dst).equals(Buffer.alloc(8 * MiB, 3))).toBe(true);
  });

  it.each([
    [['mirror', 'ram:1M'], 'blk: mirror: missing DST'],
    [['mirror', 'ram:1M', 'ram:1M', '--name', 'x'], 'blk: mirror: --name and --read-only are for --serve'],
    [['mirror', 'ram:1M', 'ram:1M', '--rate', '0'], 'blk: mirror: --rate must be more than 0 bytes per second'],
    [['mirror', 'ram:1M', 'ram:1M', '--rate', 'fast'], "blk: mirror: --rate: bad size 'fast'"],
    [['mirror', 'ram:1M', 'ram:1M', '--tls-psk', 'k'], 'blk: mirror: TLS options are for --serve'],
    [
      ['mirror', 'ram:1M', 'ram:1M', '--serve', '--socket', '/tmp/a', '--port', '1'],
      'blk: mirror: choose one of --socket, --stdio or --port/--host',
    ],
  ])('%j is a usage error', async (args, message) => {
    const r = await blk(args);
    expect(r.code).toBe(2);
    expect(r.stderr.startsWith(message)).toBe(true);
  });

  it('SIGINT before the sync: says so, deletes the secondary it created, exits 130', async () => {
    const dst = at('interrupted.img');
    const run = startBlk(['mirror', '--rate', '2M', '--progress', 'lines', `file:${source}`, `file:${dst}`]);
    try {
      await waitFor(() => /mirror: \d+%/.test(run.output()), 'the first progress line', 30_000);
      run.child.kill('SIGINT');
      expect((await exited(run.child)).code).toBe(130);
      expect(run.output()).toContain('blk mirror: stopped by SIGINT before the sync; deleted the partly written file\n');
      expect(run.output()).not.toContain('is in sync');
      expect(existsSync(dst)).toBe(false);
    } finally {
      await run.stop();
    }
  });

  it('SIGTERM before the sync: an existing secondary stays, called incomplete, exit 143', async () => {
    const dst = at('kept.img');
    writeFileSync(dst, Buffer.alloc(16 * MiB, 0xdd));
    const run = startBlk(['mirror', '--rate', '2M', '--progress', 'lines', `file:${source}`, `file:${dst}`]);
    try {
      await waitFor(() => /mirror: \d+%/.test(run.output()), 'the first progress line', 30_000);
      run.child.kill('SIGTERM');
      expect((await exited(run.child)).code).toBe(143);
      expect(run.output()).toMatch(/blk mirror: stopped by SIGTERM before the sync; file:\S+kept\.img is incomplete\n/);
      expect(
        readFileSync(dst)
          .subarray(15 * MiB)
          .equals(Buffer.alloc(MiB, 0xdd)),
      ).toBe(true);
    } finally {
      await run.stop();
    }
  });

  describeWithPeers('serving the mirror', ['nbdcopy', 'nbdinfo'], (peers) => {
    it('takes client writes during the copy; after the sync and SIGINT both files hold them', async () => {
      const primary = at('live-primary.img');
      const secondary = at('live-secondary.img');
      const base = randomBytes(16 * MiB);
      writeFileSync(primary, base);
      const socket = at('mirror.sock');
      const run = startBlk(['mirror', '--rate', '4M', '--progress', 'lines', `file:${primary}`, `file:${secondary}`, '--socket', socket]);
      try {
        await waitFor(() => run.output().includes('Try:'), 'the mirror to be served', 20_000);
        const uri = `nbd+unix:///?socket=${socket}`;
        expect(run.output()).toContain(`  ${uri}\n`);
        const patch = randomBytes(2 * MiB);
        writeFileSync(at('patch.img'), patch);
        // Written while the throttled background copy runs (about 4 s): these bytes must reach both.
        await runOk(peers.nbdcopy!, [at('patch.img'), uri]);
        await waitFor(() => run.output().includes('still serving'), 'the sync', 30_000);
        const size = await runOk(peers.nbdinfo!, ['--size', uri]);
        expect(size.stdout.trim()).toBe(String(16 * MiB));
        run.child.kill('SIGINT');
        expect((await exited(run.child)).code).toBe(0);
        expect(run.output()).toContain('blk mirror: stopped; both devices flushed\n');
        const expected = Buffer.concat([patch, base.subarray(2 * MiB)]);
        expect(readFileSync(primary).equals(expected)).toBe(true);
        expect(readFileSync(secondary).equals(expected)).toBe(true);
      } finally {
        await run.stop();
      }
    });
  });
});
