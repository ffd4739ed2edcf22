// Our server against the libnbd tools: nbdinfo (plain, --list, --map, --json), nbdcopy both ways
// (multi-conn and -C 1), nbdsh error numbers in non-strict mode, fio with verification, and the
// two spawn modes libnbd uses (socket activation for `[ CMD ]`, stdin/stdout for connect_command).
import { Ramdisk } from '@blk/ramdisk';
import { describeWithPeers, makeTempDir, run, runOk } from '@blk/test-kit';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatUri } from '../../src/index.js';
import { firstDifference, readImage, writeTestImage } from '../helpers/images.js';
import { exportFresh, useServer } from '../helpers/server-fixture.js';

const MiB = 1 << 20;
const fixture = useServer();
const FIXTURE_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'serve-ramdisk.mjs');

const uriOf = (name: string) => formatUri({ path: fixture.path, exportName: name });

/** nbdsh runs `python3 -m nbd`: find the python3 that sits beside it, not one a version manager put first. */
const besideFirst = (program: string) => ({ ...process.env, PATH: `${dirname(program)}:${process.env.PATH ?? ''}` });

describeWithPeers('nbdinfo against our server', ['nbdinfo'], ({ nbdinfo }) => {
  let name: string;
  let other: string;
  beforeAll(async () => {
    const disk = new Ramdisk({ sizeSectors: 16 * 2048 });
    await disk.write(2048, [new Uint8Array(MiB).fill(0x11)]); // data in [1 MiB, 2 MiB)
    name = exportFresh(fixture, { device: disk, description: 'the disk nbdinfo inspects' });
    other = exportFresh(fixture, { device: new Ramdisk({ sizeSectors: 2048 }), readOnly: true });
  });

  it('describes an export: size, structured replies, base:allocation, every capability', async () => {
    const { stdout } = await runOk(nbdinfo!, [uriOf(name)]);
    expect(stdout).toContain('using structured packets');
    expect(stdout).toContain('export-size: 16777216');
    expect(stdout).toMatch(/contexts:\s+base:allocation/);
    for (const can of [
      'can_cache: true',
      'can_df: true',
      'can_fast_zero: true',
      'can_flush: true',
      'can_fua: true',
      'can_multi_conn: true',
      'can_trim: true',
      'can_zero: true',
      'is_read_only: false',
    ]) {
      expect(stdout).toContain(can);
    }
    expect(stdout).toContain('block_size_minimum: 512');
  });

  it('--json gives the same facts in JSON', async () => {
    const { stdout } = await runOk(nbdinfo!, ['--json', uriOf(name)]);
    const info = JSON.parse(stdout) as { protocol: string; exports: Record<string, unknown>[] };
    expect(info.protocol).toBe('newstyle-fixed');
    expect(info.exports[0]).toMatchObject({
      'export-name': name,
      'export-size': 16 * MiB,
      is_read_only: false,
      can_zero: true,
      description: 'the disk nbdinfo inspects',
    });
  });

  it('--list shows every export with its description, the read-only one as read-only', async () => {
    const { stdout } = await runOk(nbdinfo!, ['--list', '--json', uriOf('')]);
    const info = JSON.parse(stdout) as { exports: { 'export-name': string; is_read_only: boolean; description?: string }[] };
    const byName = new Map(info.exports.map((e) => [e['export-name'], e]));
    expect(byName.get(name)).toMatchObject({ description: 'the disk nbdinfo inspects', is_read_only: false });
    expect(byName.get(other)).toMatchObject({ is_read_only: true });
  });

  it('--map shows the written MiB as data and the rest as holes that read zero', async () => {
    const { stdout } = await runOk(nbdinfo!, ['--map', '--json', uriOf(name)]);
    const map = JSON.parse(stdout) as { offset: number; length: number; type: number }[];
    expect(map).toEqual([
      { offset: 0, length: MiB, type: 3, description: 'hole,zero' },
      { offset: MiB, length: MiB, type: 0, description: 'data' },
      { offset: 2 * MiB, length: 14 * MiB, type: 3, description: 'hole,zero' },
    ]);
  });

  it('an unknown export name fails cleanly and the server stays up', async () => {
    const result = await run(nbdinfo!, [uriOf('no-such-export')]);
    expect(result.code).not.toBe(0);
    // libnbd reports NBD_REP_ERR_UNKNOWN as ENOENT.
    expect(result.stderr).toMatch(/No such file or directory for export: no-such-export/);
    await runOk(nbdinfo!, ['--size', uriOf(name)]);
  });

  it('answers over TCP on 127.0.0.1 as well (a second listener on the same server)', async () => {
    const address = await fixture.server.listen({ host: '127.0.0.1', port: 0 });
    const { stdout } = await runOk(nbdinfo!, ['--size', `${address.uri!}${encodeURIComponent(name)}`]);
    expect(stdout.trim()).toBe(String(16 * MiB));
  });

  it('spawns our server with socket activation (nbdinfo -- [ node … ])', async () => {
    const { stdout } = await runOk(nbdinfo!, ['--json', '--', '[', process.execPath, FIXTURE_SCRIPT, 'activation', '8', ']']);
    const info = JSON.parse(stdout) as { exports: Record<string, unknown>[] };
    expect(info.exports[0]).toMatchObject({ 'export-size': 8 * MiB, description: 'ramdisk served over activation' });
  });
});

describeWithPeers('nbdcopy against our server', ['nbdcopy'], ({ nbdcopy }) => {
  for (const connections of ['default', '1'] as const) {
    it(`copies an image in and back out byte for byte (${connections === 'default' ? 'multi-conn' : '-C 1'})`, async () => {
      const name = exportFresh(fixture, new Ramdisk({ sizeSectors: 24 * 2048 }));
      const image = writeTestImage(join(fixture.dir, `in-${name}.img`), 24);
      const extra = connections === 'default' ? [] : ['-C', '1'];
      await runOk(nbdcopy!, [...extra, join(fixture.dir, `in-${name}.img`), uriOf(name)]);
      await runOk(nbdcopy!, [...extra, uriOf(name), join(fixture.dir, `out-${name}.img`)]);
      expect(firstDifference(readImage(join(fixture.dir, `out-${name}.img`)), image)).toBe(-1);
    });
  }
});

describeWithPeers('nbdsh error numbers in non-strict mode', ['nbdsh'], ({ nbdsh }) => {
  const script = `
import errno
h.set_strict_mode(0)
size = h.get_size()
def code(f):
    try:
        f()
        return 0
    except nbd.Error as e:
        return e.errno
results = {
  'read_past_end': code(lambda: h.pread(512, size)),
  'write_past_end': code(lambda: h.pwrite(b'x' * 512, size)),
  'zero_past_end': code(lambda: h.zero(512, size)),
  'trim_past_end': code(lambda: h.trim(512, size)),
  'cache_past_end': code(lambda: h.cache(512, size)),
  'status_past_end': code(lambda: h.block_status(512, size, lambda *a: 0)),
  'read_misaligned': code(lambda: h.pread(100, 1)),
  'write_misaligned': code(lambda: h.pwrite(b'x' * 100, 512)),
  'zero_misaligned': code(lambda: h.zero(100, 3)),
  'read_ok': code(lambda: h.pread(512, 0)),
}
print(repr(results))
`;
  const parse = (stdout: string) => JSON.parse(stdout.trim().replace(/'/g, '"')) as Record<string, string | number>;

  it('answers past-end and misaligned requests as nbdkit does (EINVAL/ENOSPC), and nothing breaks', async () => {
    const name = exportFresh(fixture, new Ramdisk({ sizeSectors: 2048 }));
    const { stdout } = await runOk(nbdsh!, ['-u', uriOf(name), '-c', script], { env: besideFirst(nbdsh!) });
    expect(parse(stdout)).toEqual({
      read_past_end: 'EINVAL',
      write_past_end: 'ENOSPC',
      zero_past_end: 'ENOSPC',
      trim_past_end: 'EINVAL',
      cache_past_end: 'EINVAL',
      status_past_end: 'EINVAL',
      read_misaligned: 'EINVAL',
      write_misaligned: 'EINVAL',
      zero_misaligned: 'EINVAL',
      read_ok: 0,
    });
  });

  it('answers writes, zeroes and trims on a read-only export with EPERM', async () => {
    const name = exportFresh(fixture, { device: new Ramdisk({ sizeSectors: 2048 }), readOnly: true });
    const readOnly = `
h.set_strict_mode(0)
def code(f):
    try:
        f()
        return 0
    except nbd.Error as e:
        return e.errno
print(repr({'write': code(lambda: h.pwrite(b'x' * 512, 0)), 'zero': code(lambda: h.zero(512, 0)), 'trim': code(lambda: h.trim(512, 0)), 'read': code(lambda: h.pread(512, 0)), 'flush': code(lambda: h.flush())}))
`;
    const { stdout } = await runOk(nbdsh!, ['-u', uriOf(name), '-c', readOnly], { env: besideFirst(nbdsh!) });
    expect(parse(stdout)).toEqual({ write: 'EPERM', zero: 'EPERM', trim: 'EPERM', read: 0, flush: 0 });
  });

  it('serves libnbd over stdin/stdout (connect_command), and writes land', async () => {
    const stdio = `
h.connect_command([${JSON.stringify(process.execPath)}, ${JSON.stringify(FIXTURE_SCRIPT)}, 'stdio', '4'])
assert h.get_size() == 4 * 1024 * 1024
h.pwrite(b'\\x5a' * 65536, 4096, nbd.CMD_FLAG_FUA)
assert h.pread(65536, 4096) == b'\\x5a' * 65536
assert h.pread(4096, 0) == bytes(4096)
h.shutdown()
print('ok')
`;
    const { stdout } = await runOk(nbdsh!, ['-c', stdio], { env: besideFirst(nbdsh!) });
    expect(stdout.trim()).toBe('ok');
  });
});

describeWithPeers('fio with verification against our server', ['fio'], ({ fio }) => {
  it('random 4 KiB writes at depth 16, then verified reads, without a single mismatch', async () => {
    const name = exportFresh(fixture, new Ramdisk({ sizeSectors: 32 * 2048 }));
    // fio writes its verify state (local-verify-0-verify.state) into its working directory.
    const scratch = makeTempDir('blk-nbd-fio-');
    const { stdout } = await runOk(
      fio!,
      [
        '--name=verify',
        '--ioengine=nbd',
        `--uri=${uriOf(name)}`,
        '--rw=randwrite',
        '--bs=4k',
        '--iodepth=16',
        '--size=16M',
        '--verify=crc32c',
        '--verify_fatal=1',
        '--do_verify=1',
        '--output-format=json',
      ],
      { timeoutMs: 60_000, cwd: scratch.path },
    ).finally(() => scratch.remove());
    const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as {
      jobs: { error: number; write: { io_bytes: number }; read: { io_bytes: number } }[];
    };
    expect(report.jobs[0]!.error).toBe(0);
    expect(report.jobs[0]!.write.io_bytes).toBe(16 * MiB);
    expect(report.jobs[0]!.read.io_bytes).toBe(16 * MiB);
  });
});

describe('the server under the libnbd tools', () => {
  it('reported no protocol violations', () => {
    expect(fixture.errors.map((e) => e.message)).toEqual([]);
  });
});

describeWithPeers("nbd-client (the kernel driver's userspace half) against our server", ['nbd-client'], ({ 'nbd-client': nbdClient }) => {
  it('lists the exports (nbd-client -l); attaching /dev/nbd* needs a privileged machine and is not tried', async () => {
    const name = exportFresh(fixture, { device: new Ramdisk({ sizeSectors: 64 }), description: 'for nbd-client' });
    const address = await fixture.server.listen({ host: '127.0.0.1', port: 0 });
    const port = 'port' in address ? address.port : 0;
    const { stdout } = await runOk(nbdClient!, ['-l', '127.0.0.1', String(port)]);
    expect(stdout).toContain(`${name}: for nbd-client`);
  });
});
