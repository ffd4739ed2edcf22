import { writeFileSync, truncateSync, openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '@blk/test-kit';
import { blk } from './helpers/blk.js';

const MiB = 2 ** 20;

describe('blk info and blk map', () => {
  let dir: { path: string; remove(): void };
  let image: string;
  beforeAll(() => {
    dir = makeTempDir('blk-cli-info-');
    image = join(dir.path, 'disk.img');
    // 4 MiB, with data in [1 MiB, 1 MiB + 64 KiB) only.
    writeFileSync(image, '');
    truncateSync(image, 4 * MiB);
    const fd = openSync(image, 'r+');
    writeSync(fd, Buffer.alloc(64 * 1024, 0xab), 0, 64 * 1024, MiB);
    closeSync(fd);
  });
  afterAll(() => dir.remove());

  it('info on an rbd: image it cannot reach names the SPEC and why (with or without librbd here)', async () => {
    const r = await blk(['info', `rbd:rbd/disk?conf=${dir.path}/missing.conf`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`cannot open rbd:rbd/disk?conf=${dir.path}/missing.conf`);
    expect(r.stderr).toMatch(/librbd-dev|cannot read the Ceph config .*missing.conf/);
  });

  it('info describes a ramdisk', async () => {
    const r = await blk(['info', 'ram:1GiB']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'device    ram:1GiB',
        'size      1073741824 bytes (1.00 GiB)',
        'sectors   2097152 × 512 bytes',
        'access    read-write',
        'supports  write flush discard discardZeroes writeZeroes resize seek sparse concurrent',
        '',
      ].join('\n'),
    );
  });

  it('info --json describes a dense memory disk with 4 KiB sectors', async () => {
    const r = await blk(['info', '--json', 'mem:64M,sector=4096']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      spec: 'mem:64MiB,sector=4096',
      sizeBytes: 64 * MiB,
      sectorSize: 4096,
      sizeSectors: 16384,
      readWrite: true,
      supports: {
        write: true,
        flush: false,
        fua: false,
        discard: false,
        discardZeroes: false,
        writeZeroes: false,
        resize: false,
        seek: false,
        sparse: false,
        persistent: false,
        concurrent: true,
      },
    });
  });

  it('info on a file reports its size and that it is persistent and writable', async () => {
    const r = await blk(['info', '--json', `file:${image}`]);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as { sizeBytes: number; readWrite: boolean; supports: Record<string, boolean> };
    expect(info.sizeBytes).toBe(4 * MiB);
    expect(info.readWrite).toBe(true);
    expect(info.supports.persistent).toBe(true);
    expect(info.supports.flush).toBe(true);
  });

  it('map shows a fresh ramdisk as one zero extent', async () => {
    const r = await blk(['map', 'ram:1G']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('offset      length  type\n     0  1073741824  zero\n');
  });

  it('map shows a dense memory disk, which cannot tell, as one data extent', async () => {
    const r = await blk(['map', '--json', 'mem:1M']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([{ offset: 0, length: MiB, type: 'data', mapped: true }]);
  });

  it('map finds the data in a sparse file and covers the whole file', async () => {
    const r = await blk(['map', '--json', `file:${image}`]);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { offset: number; length: number; type: string; mapped: boolean }[];
    let at = 0;
    for (const row of rows) {
      expect(row.offset).toBe(at);
      expect(row.mapped).toBe(row.type === 'data');
      at += row.length;
    }
    expect(at).toBe(4 * MiB);
    const data = rows.filter((row) => row.mapped);
    // Every written byte lies in a data extent.
    expect(data.some((row) => row.offset <= MiB && row.offset + row.length >= MiB + 64 * 1024)).toBe(true);
    const text = await blk(['map', `file:${image}`]);
    expect(text.stdout.split('\n')[0]).toMatch(/^ *offset +length +type$/);
    expect(text.stdout.trimEnd().split('\n')).toHaveLength(rows.length + 1);
  });

  it.each([
    ['info', 'no such file or directory (ENOENT)'],
    ['map', 'no such file or directory (ENOENT)'],
  ])('%s on a missing file fails with one line and exit 1', async (command, why) => {
    const missing = join(dir.path, 'missing.img');
    const r = await blk([command, `file:${missing}`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`blk: cannot open file:${missing}: ${why}\n`);
  });

  it('info refuses a file that is not a whole number of sectors', async () => {
    const odd = join(dir.path, 'odd.img');
    writeFileSync(odd, Buffer.alloc(1000));
    const r = await blk(['info', `file:${odd}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^blk: cannot open file:.*odd\.img: .*not a whole number of 512-byte sectors.*\n$/);
  });

  it('info refuses a directory', async () => {
    const r = await blk(['info', `file:${dir.path}`]);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr).toMatch(/^blk: cannot open file:/);
  });
});
