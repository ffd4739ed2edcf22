import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { BlockFile } from '@blk/fmap';
import { makeTempDir, waitFor } from '@blk/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blk, exited, startBlk } from './helpers/blk.js';

const MiB = 2 ** 20;

interface Extent {
  readonly offset: number;
  readonly length: number;
  readonly type: string;
  readonly mapped: boolean;
}

describe('fmap: devices', () => {
  let dir: { path: string; remove(): void };
  let source: string;
  let content: Buffer;
  const at = (name: string) => join(dir.path, name);

  beforeAll(() => {
    dir = makeTempDir('blk-cli-fmap-');
    source = at('source.img');
    // 8 MiB: random data in the first 3 MiB and in [6 MiB, 6 MiB + 100 KiB), holes elsewhere.
    content = Buffer.alloc(8 * MiB);
    randomBytes(3 * MiB).copy(content, 0);
    randomBytes(100 * 1024).copy(content, 6 * MiB);
    writeFileSync(source, '');
    truncateSync(source, 8 * MiB);
    const fd = openSync(source, 'r+');
    writeSync(fd, content, 0, 3 * MiB, 0);
    writeSync(fd, content, 6 * MiB, 100 * 1024, 6 * MiB);
    closeSync(fd);
  });
  afterAll(() => dir.remove());

  it('copy file: → a new fmap: → file: gives the same bytes; the fmap file holds only what was written', async () => {
    const disk = at('copy.fmap');
    const into = await blk(['copy', `file:${source}`, `fmap:${disk}`]);
    expect(into.code, into.stderr).toBe(0);
    expect(into.stdout).toMatch(new RegExp(`^copied ${8 * MiB} bytes \\(8\\.00 MiB\\) from file:\\S+ to fmap:\\S+copy\\.fmap in `));
    // 3.1 MiB of data in 64 KiB units, plus the header and the map
    expect(statSync(disk).size).toBeLessThan(4 * MiB);
    expect(existsSync(`${disk}.lock`)).toBe(false);
    const out = at('back.img');
    const back = await blk(['copy', '--verify', `fmap:${disk}`, `file:${out}`]);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain(', verified\n');
    expect(readFileSync(out).equals(content)).toBe(true);
  });

  it('info and map describe an fmap: device from its block map', async () => {
    const disk = at('info.fmap');
    expect((await blk(['copy', `file:${source}`, `fmap:${disk}`])).code).toBe(0);
    const info = await blk(['info', '--json', `fmap:${disk}`]);
    expect(info.code, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout)).toEqual({
      spec: `fmap:${disk}`,
      sizeBytes: 8 * MiB,
      sectorSize: 512,
      sizeSectors: 16384,
      readWrite: true,
      supports: {
        write: true,
        flush: true,
        fua: false,
        discard: true,
        discardZeroes: true,
        writeZeroes: true,
        resize: true,
        seek: true,
        sparse: true,
        persistent: true,
        concurrent: true,
      },
    });
    const map = await blk(['map', '--json', `fmap:${disk}`]);
    expect(map.code, map.stderr).toBe(0);
    // whole 64 KiB units: [0, 3 MiB) and [6 MiB, 6 MiB + 128 KiB) hold data
    expect(JSON.parse(map.stdout) as Extent[]).toEqual([
      { offset: 0, length: 3 * MiB, type: 'data', mapped: true },
      { offset: 3 * MiB, length: 3 * MiB, type: 'zero', mapped: false },
      { offset: 6 * MiB, length: 128 * 1024, type: 'data', mapped: true },
      { offset: 6 * MiB + 128 * 1024, length: 2 * MiB - 128 * 1024, type: 'zero', mapped: false },
    ]);
  });

  it('copy ram:…,sector=4096 → a new fmap: takes the source sector size; back to file: byte for byte', async () => {
    const disk = at('ram.fmap');
    const into = await blk(['copy', 'ram:4M,sector=4096', `fmap:${disk}`]);
    expect(into.code, into.stderr).toBe(0);
    const info = JSON.parse((await blk(['info', '--json', `fmap:${disk}`])).stdout) as { sectorSize: number; sizeBytes: number };
    expect(info).toMatchObject({ sectorSize: 4096, sizeBytes: 4 * MiB });
    const out = at('ram-back.img');
    expect((await blk(['copy', `fmap:${disk}`, `file:${out}`])).code).toBe(0);
    expect(readFileSync(out).equals(Buffer.alloc(4 * MiB))).toBe(true);
    // nothing was written but zeroes: the device maps nothing
    const map = JSON.parse((await blk(['map', '--json', `fmap:${disk}`])).stdout) as Extent[];
    expect(map).toEqual([{ offset: 0, length: 4 * MiB, type: 'zero', mapped: false }]);
  });

  it('copy onto an existing larger fmap: keeps its tail; a smaller one is refused untouched', async () => {
    const big = at('big.fmap');
    expect((await blk(['copy', 'ram:10M', `fmap:${big}`])).code).toBe(0);
    const filled = at('filled.img');
    writeFileSync(filled, Buffer.alloc(10 * MiB, 0x5a));
    expect((await blk(['copy', `file:${filled}`, `fmap:${big}`])).code).toBe(0);
    expect((await blk(['copy', `file:${source}`, `fmap:${big}`])).code).toBe(0);
    const out = at('big-back.img');
    expect((await blk(['copy', `fmap:${big}`, `file:${out}`])).code).toBe(0);
    const back = readFileSync(out);
    expect(back.subarray(0, 8 * MiB).equals(content)).toBe(true);
    expect(back.subarray(8 * MiB).equals(Buffer.alloc(2 * MiB, 0x5a))).toBe(true);
    const small = at('small.fmap');
    expect((await blk(['copy', 'ram:1M', `fmap:${small}`])).code).toBe(0);
    const before = readFileSync(small);
    const refused = await blk(['copy', `file:${source}`, `fmap:${small}`]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`blk: copy: DST is smaller than SRC (${MiB} < ${8 * MiB} bytes); nothing was copied\n`);
    expect(readFileSync(small).equals(before)).toBe(true);
  });

  it('mirror file: → a new fmap: makes an exact copy', async () => {
    const disk = at('mirror.fmap');
    const r = await blk(['mirror', '--quiet', `file:${source}`, `fmap:${disk}`]);
    expect(r.code, r.stderr).toBe(0);
    const out = at('mirror-back.img');
    expect((await blk(['copy', `fmap:${disk}`, `file:${out}`])).code).toBe(0);
    expect(readFileSync(out).equals(content)).toBe(true);
  });

  it.each([
    [
      'a missing file',
      'missing.fmap',
      () => undefined,
      /^blk: cannot open fmap:\S+missing\.fmap: \S+missing\.fmap does not exist \(IO\)\n$/,
    ],
    [
      'a file that is not a BlockFile',
      'garbage.fmap',
      (p: string) => writeFileSync(p, Buffer.alloc(MiB, 'garbage')),
      /^blk: cannot open fmap:\S+: \S+ is not a BlockFile \(IO\)\n$/,
    ],
    [
      'a BlockFile that holds something else',
      'foreign.fmap',
      (p: string) => {
        const file = BlockFile.create(p, { blockSize: 4096 });
        file.setControlData(new TextEncoder().encode('{"app":"something else"}'));
        file.close();
      },
      /^blk: cannot open fmap:\S+: \S+ is a BlockFile but not an fmap device .*\(IO\)\n$/,
    ],
  ])('info on %s fails with one line and exit 1', async (_what, name, make, message) => {
    const path = at(name);
    make(path);
    const r = await blk(['info', `fmap:${path}`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it('an fmap: held by a running blk is refused by a second one with the holder named', async () => {
    const disk = at('held.fmap');
    expect((await blk(['copy', 'ram:1M', `fmap:${disk}`])).code).toBe(0);
    const serve = startBlk(['serve', `fmap:${disk}`, '--socket', at('held.sock')]);
    try {
      await waitFor(
        () => serve.output().includes('Press Ctrl-C to stop.') || serve.child.exitCode !== null,
        'blk serve to be ready',
        20_000,
      );
      const r = await blk(['info', `fmap:${disk}`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(`^blk: cannot open fmap:\\S+held\\.fmap: \\S+held\\.fmap is locked by process ${serve.child.pid} \\(IO\\)\\n$`),
      );
      serve.child.kill('SIGINT');
      expect((await exited(serve.child)).code).toBe(0);
    } finally {
      await serve.stop();
    }
    expect((await blk(['info', `fmap:${disk}`])).code).toBe(0);
  });

  it('SIGINT during a copy into a new fmap: deletes it and its lock, exits 130', async () => {
    const big = at('big-source.img');
    writeFileSync(big, randomBytes(64 * MiB));
    const disk = at('interrupted.fmap');
    const copy = startBlk(['copy', '--chunk', '512', '--progress', 'lines', `file:${big}`, `fmap:${disk}`]);
    try {
      await waitFor(() => copy.output().includes('copy: 10%'), 'the first progress line', 30_000);
      copy.child.kill('SIGINT');
      expect((await exited(copy.child)).code).toBe(130);
      expect(copy.output()).toMatch(/blk copy: stopped by SIGINT after \d+ of 67108864 bytes; deleted the partly written file\n/);
      expect(existsSync(disk)).toBe(false);
      expect(existsSync(`${disk}.lock`)).toBe(false);
    } finally {
      await copy.stop();
    }
  });
});
