import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '@blk/test-kit';
import { blk } from './helpers/blk.js';

const MiB = 2 ** 20;

describe('blk copy', () => {
  let dir: { path: string; remove(): void };
  let source: string;
  let content: Buffer;
  const at = (name: string) => join(dir.path, name);

  beforeAll(() => {
    dir = makeTempDir('blk-cli-copy-');
    source = at('source.img');
    // 8 MiB: random data in the first 3 MiB and at 6 MiB, a hole between.
    content = Buffer.alloc(8 * MiB);
    randomBytes(3 * MiB).copy(content, 0);
    randomBytes(MiB).copy(content, 6 * MiB);
    writeFileSync(source, '');
    truncateSync(source, 8 * MiB);
    const fd = openSync(source, 'r+');
    writeSync(fd, content, 0, 3 * MiB, 0);
    writeSync(fd, content, 6 * MiB, MiB, 6 * MiB);
    closeSync(fd);
  });
  afterAll(() => dir.remove());

  it('copies a file into a new file it creates, byte for byte, and says so', async () => {
    const dst = at('new.img');
    const r = await blk(['copy', `file:${source}`, `file:${dst}`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`^copied ${8 * MiB} bytes \\(8\\.00 MiB\\) from file:\\S+source\\.img to file:\\S+new\\.img in [\\d.]+s`),
    );
    expect(statSync(dst).size).toBe(8 * MiB);
    expect(readFileSync(dst).equals(content)).toBe(true);
  });

  it('copies into an existing larger file, leaving the tail alone, and --verify refuses the size mismatch up front', async () => {
    const dst = at('larger.img');
    writeFileSync(dst, Buffer.alloc(10 * MiB, 0x5a));
    const refused = await blk(['copy', '--verify', `file:${source}`, `file:${dst}`]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `blk: copy: --verify needs DST exactly as large as SRC (${10 * MiB} vs ${8 * MiB} bytes); nothing was copied\n`,
    );
    expect(readFileSync(dst).equals(Buffer.alloc(10 * MiB, 0x5a))).toBe(true);
    const r = await blk(['copy', `file:${source}`, `file:${dst}`]);
    expect(r.code).toBe(0);
    const after = readFileSync(dst);
    expect(after.subarray(0, 8 * MiB).equals(content)).toBe(true);
    expect(after.subarray(8 * MiB).equals(Buffer.alloc(2 * MiB, 0x5a))).toBe(true);
  });

  it('zeroes the holes of the source on a destination that held data there', async () => {
    const dst = at('dirty.img');
    writeFileSync(dst, Buffer.alloc(8 * MiB, 0xff));
    const r = await blk(['copy', '--verify', `file:${source}`, `file:${dst}`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(', verified\n');
    expect(readFileSync(dst).equals(content)).toBe(true);
  });

  it('goes through memory devices with other sector sizes and back', async () => {
    const r = await blk(['copy', '--verify', '--chunk', '256K', `file:${source}`, 'ram:8M,sector=4096']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('to ram:8MiB,sector=4096');
    const m = await blk(['copy', '--verify', `file:${source}`, 'mem:8M']);
    expect(m.code).toBe(0);
  });

  it('refuses a destination smaller than the source and writes nothing', async () => {
    const dst = at('small.img');
    writeFileSync(dst, Buffer.alloc(4 * MiB, 7));
    const r = await blk(['copy', `file:${source}`, `file:${dst}`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`blk: copy: DST is smaller than SRC (${4 * MiB} < ${8 * MiB} bytes); nothing was copied\n`);
    expect(readFileSync(dst).equals(Buffer.alloc(4 * MiB, 7))).toBe(true);
    const ram = await blk(['copy', `file:${source}`, 'ram:4M']);
    expect(ram.code).toBe(1);
    expect(ram.stderr).toContain('DST is smaller than SRC');
  });

  it('fails on a missing source without creating the destination', async () => {
    const dst = at('never.img');
    const r = await blk(['copy', `file:${at('missing.img')}`, `file:${dst}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`blk: cannot open file:${at('missing.img')}: no such file or directory (ENOENT)\n`);
    expect(existsSync(dst)).toBe(false);
  });

  it('fails when the destination folder does not exist', async () => {
    const r = await blk(['copy', `file:${source}`, `file:${at('no/such/dir.img')}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^blk: cannot open file:.*no\/such\/dir\.img: .*\n$/);
  });

  it('--quiet prints nothing at all on success', async () => {
    const r = await blk(['copy', '-q', `file:${source}`, 'ram:8M']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('');
  });

  it('prints plain progress lines when stderr is not a terminal', async () => {
    const r = await blk(['copy', '--chunk', '64K', `file:${source}`, 'ram:8M']);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('\r');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.length).toBeLessThanOrEqual(10);
    for (const line of lines) expect(line).toMatch(/^copy: \d+% {2}[\d.]+ \S+ \/ 8\.00 MiB {2}[\d.]+ \S+\/s {2}ETA \S+$/);
    expect(lines.at(-1)).toMatch(/^copy: 100% {2}8\.00 MiB \/ 8\.00 MiB /);
    const percents = lines.map((l) => Number(/^copy: (\d+)%/.exec(l)![1]));
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
  });
});
