import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithPeers, makeTempDir, run, waitFor } from '@blk/test-kit';
import { BIN, exited, startBlk } from './helpers/blk.js';

const MiB = 2 ** 20;

describe('blk copy stopped by a signal', () => {
  let dir: { path: string; remove(): void };
  let source: string;
  const at = (name: string) => join(dir.path, name);
  // 512-byte requests make a 64 MiB copy take seconds, long enough to interrupt at 10 %.
  const slowCopy = (dst: string) => startBlk(['copy', '--chunk', '512', '--progress', 'lines', `file:${source}`, `file:${dst}`]);

  beforeAll(() => {
    dir = makeTempDir('blk-cli-sig-');
    source = at('source.img');
    writeFileSync(source, randomBytes(64 * MiB));
  });
  afterAll(() => dir.remove());

  it('SIGINT: stops, says how far it got, deletes the file it created, exits 130', async () => {
    const dst = at('created.img');
    const copy = slowCopy(dst);
    try {
      await waitFor(() => copy.output().includes('copy: 10%'), 'the first progress line', 30_000);
      copy.child.kill('SIGINT');
      const { code } = await exited(copy.child);
      expect(code).toBe(130);
      const match = /blk copy: stopped by SIGINT after (\d+) of (\d+) bytes; deleted the partly written file\n/.exec(copy.output());
      expect(match).not.toBeNull();
      expect(Number(match![1])).toBeLessThan(64 * MiB);
      expect(Number(match![2])).toBe(64 * MiB);
      expect(copy.output()).not.toMatch(/^copied /m);
      expect(existsSync(dst)).toBe(false);
      expect(existsSync(`${dst}.lock`)).toBe(false);
    } finally {
      await copy.stop();
    }
  });

  it('SIGTERM: leaves an existing destination in place, says it is incomplete, exits 143', async () => {
    const dst = at('existing.img');
    writeFileSync(dst, Buffer.alloc(64 * MiB, 0xee));
    const copy = slowCopy(dst);
    try {
      await waitFor(() => copy.output().includes('copy: 10%'), 'the first progress line', 30_000);
      copy.child.kill('SIGTERM');
      const { code } = await exited(copy.child);
      expect(code).toBe(143);
      expect(copy.output()).toMatch(/blk copy: stopped by SIGTERM after \d+ of 67108864 bytes; file:\S+existing\.img is incomplete\n/);
      expect(copy.output()).not.toMatch(/^copied /m);
      expect(statSync(dst).size).toBe(64 * MiB);
      // It really stopped part way: the end of the file still holds the old bytes.
      expect(
        readFileSync(dst)
          .subarray(63 * MiB)
          .equals(Buffer.alloc(MiB, 0xee)),
      ).toBe(true);
      expect(existsSync(`${dst}.lock`)).toBe(false);
    } finally {
      await copy.stop();
    }
  });

  describeWithPeers('progress in a pseudo-terminal', ['script'], (peers) => {
    it('draws one bar redrawn with carriage returns, ending at 100 %', async () => {
      const command = `${process.execPath} ${BIN} copy --chunk 64K file:${source} ram:64M`;
      const r = await run(peers.script!, ['-qfec', command, '/dev/null'], { timeoutMs: 60_000 });
      expect(r.code).toBe(0);
      const out = r.stdout;
      expect(out).toMatch(/\rcopy \[[#-]+\] +\d+\.\d%/);
      expect(out).toContain('\x1b[K');
      expect(out).not.toContain('copy: 10%');
      const frames = out.split('\r').filter((f) => f.startsWith('copy ['));
      const last = frames.at(-1)!;
      expect(last.endsWith(' ETA 0s\x1b[K')).toBe(true);
      expect(last).toMatch(/^copy \[#+\] 100\.0% {2}64\.0 MiB \/ 64\.0 MiB {2}/);
      for (const frame of frames) expect(frame.replace('\x1b[K', '').length).toBeLessThanOrEqual(79);
      expect(out).toMatch(/copied 67108864 bytes/);
    });

    it('prints lines instead when told to, even on a terminal', async () => {
      const command = `${process.execPath} ${BIN} copy --progress lines file:${source} ram:64M`;
      const r = await run(peers.script!, ['-qfec', command, '/dev/null'], { timeoutMs: 60_000 });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('copy: 100%  64.0 MiB / 64.0 MiB');
      expect(r.stdout).not.toContain('copy [');
    });
  });
});
