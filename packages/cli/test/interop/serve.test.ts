import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithPeers, makeTempDir, run, runOk } from '@blk/test-kit';
import { BIN, blk, exited } from '../helpers/blk.js';
import { startServe } from '../helpers/serve.js';

const MiB = 2 ** 20;

/** Runs a printed hint line as a shell would (the tests print only simple, quoted words). */
function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.replace(/\s+#.*$/, '').matchAll(/'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2]!);
  return out;
}

describeWithPeers('blk serve with real NBD clients', ['nbdinfo', 'qemu-img', 'nbdcopy'], (peers) => {
  let dir: { path: string; remove(): void };
  const at = (name: string) => join(dir.path, name);
  beforeAll(() => {
    dir = makeTempDir('blk-cli-serve-');
  });
  afterAll(() => dir.remove());

  it('the main job: blk serve ram:1GiB answers the nbdinfo and qemu-img lines it prints, and SIGINT stops it with exit 0', async () => {
    // Exactly what pnpm start runs, with BLK_PORT=0 so the test takes a free port, not 10809.
    const serve = await startServe(['ram:1GiB'], { ...process.env, BLK_PORT: '0' });
    try {
      expect(serve.process.output()).toContain('blk serve: ram:1GiB (1.00 GiB, read-write) as the default export');
      expect(serve.uris).toHaveLength(1);
      expect(serve.uris[0]).toMatch(/^nbd:\/\/127\.0\.0\.1:\d+\/$/);
      const nbdinfoLine = serve.hints.find((l) => l.startsWith('nbdinfo '))!;
      const [, ...nbdinfoArgs] = words(nbdinfoLine);
      const info = await runOk(peers.nbdinfo!, ['--json', ...nbdinfoArgs]);
      const json = JSON.parse(info.stdout) as { exports: { 'export-size': number; is_read_only: boolean; description?: string }[] };
      expect(json.exports[0]!['export-size']).toBe(2 ** 30);
      expect(json.exports[0]!.is_read_only).toBe(false);
      expect(json.exports[0]!.description).toBe('ram:1GiB');
      const qemuLine = serve.hints.find((l) => l.startsWith('qemu-img info '))!;
      const [, ...qemuArgs] = words(qemuLine);
      const qemu = await runOk(peers['qemu-img']!, qemuArgs);
      expect(qemu.stdout).toContain('virtual size: 1 GiB (1073741824 bytes)');
      expect(serve.hints.some((l) => l.startsWith('nbdcopy disk.img '))).toBe(true);
      serve.process.child.kill('SIGINT');
      const { code } = await exited(serve.process.child);
      expect(code).toBe(0);
      expect(serve.process.output()).toContain('blk serve: stopping on SIGINT\nblk serve: stopped\n');
    } finally {
      await serve.process.stop();
    }
  });

  it('keeps what nbdcopy uploads, byte for byte, on a Unix socket; SIGTERM stops it with exit 0', async () => {
    const socket = at('upload.sock');
    const data = randomBytes(8 * MiB);
    writeFileSync(at('up.img'), data);
    const serve = await startServe(['ram:8M', '--socket', socket]);
    try {
      expect(serve.uris).toEqual([`nbd+unix:///?socket=${socket}`]);
      await runOk(peers.nbdcopy!, [at('up.img'), serve.uris[0]!]);
      await runOk(peers.nbdcopy!, [serve.uris[0]!, at('down.img')]);
      expect(readFileSync(at('down.img')).equals(data)).toBe(true);
      const map = await runOk(peers.nbdinfo!, ['--map', serve.uris[0]!]);
      expect(map.stdout).toMatch(/^\s+0\s+8388608\s+0\s+data$/m);
      serve.process.child.kill('SIGTERM');
      expect((await exited(serve.process.child)).code).toBe(0);
    } finally {
      await serve.process.stop();
    }
  });

  it('a file export: everything nbdcopy wrote is in the file once SIGINT has stopped the server', async () => {
    const image = at('disk.img');
    writeFileSync(image, Buffer.alloc(4 * MiB));
    const data = randomBytes(4 * MiB);
    writeFileSync(at('payload.img'), data);
    const serve = await startServe([`file:${image}`, '--port', '0']);
    try {
      await runOk(peers.nbdcopy!, [at('payload.img'), serve.uris[0]!]);
      serve.process.child.kill('SIGINT');
      expect((await exited(serve.process.child)).code).toBe(0);
      expect(readFileSync(image).equals(data)).toBe(true);
    } finally {
      await serve.process.stop();
    }
  });

  it('serves several named exports that nbdinfo --list shows with their specs', async () => {
    const serve = await startServe(['ram:1M', 'mem:2M', '--name', 'scratch', '--name', 'dense', '--port', '0']);
    try {
      expect(serve.uris).toHaveLength(2);
      expect(serve.uris[0]).toMatch(/\/scratch$/);
      expect(serve.uris[1]).toMatch(/\/dense$/);
      expect(serve.hints[0]).toMatch(/^nbdinfo --list nbd:\/\//);
      const list = await runOk(peers.nbdinfo!, ['--list', '--json', serve.uris[0]!]);
      const exports = (JSON.parse(list.stdout) as { exports: { 'export-name': string; description: string; 'export-size': number }[] })
        .exports;
      const byName = Object.fromEntries(exports.map((e) => [e['export-name'], e]));
      expect(byName.scratch).toMatchObject({ description: 'ram:1MiB', 'export-size': MiB });
      expect(byName.dense).toMatchObject({ description: 'mem:2MiB', 'export-size': 2 * MiB });
    } finally {
      await serve.process.stop();
    }
  });

  it('--read-only: nbdinfo says so, the upload hint is left out and nbdcopy cannot write', async () => {
    writeFileSync(at('one.img'), Buffer.alloc(MiB, 1));
    const serve = await startServe(['ram:1M', '--read-only', '--port', '0']);
    try {
      expect(serve.process.output()).toContain('(1.00 MiB, read-only)');
      expect(serve.hints.some((l) => l.startsWith('nbdcopy disk.img'))).toBe(false);
      const ro = await runOk(peers.nbdinfo!, ['--is', 'read-only', serve.uris[0]!]);
      expect(ro.code).toBe(0);
      const upload = await run(peers.nbdcopy!, [at('one.img'), serve.uris[0]!]);
      expect(upload.code).not.toBe(0);
    } finally {
      await serve.process.stop();
    }
  });

  it('TLS with a PSK file: the printed nbds URI works, plaintext is refused', async () => {
    const keys = at('keys.psk');
    writeFileSync(keys, `alice:${randomBytes(32).toString('hex')}\n`);
    const serve = await startServe(['ram:1M', '--tls-psk', keys, '--port', '0']);
    try {
      expect(serve.process.output()).toContain('(TLS required)');
      expect(serve.uris[0]).toMatch(new RegExp(`^nbds://alice@127\\.0\\.0\\.1:\\d+/\\?tls-psk-file=${keys}$`));
      const size = await runOk(peers.nbdinfo!, ['--size', serve.uris[0]!]);
      expect(size.stdout.trim()).toBe(String(MiB));
      const port = /:(\d+)\//.exec(serve.uris[0]!)![1]!;
      const plain = await run(peers.nbdinfo!, ['--size', `nbd://127.0.0.1:${port}/`]);
      expect(plain.code).not.toBe(0);
      const qemuLine = serve.hints.find((l) => l.startsWith('qemu-img info '))!;
      const qemu = await runOk(peers['qemu-img']!, words(qemuLine).slice(1));
      expect(qemu.stdout).toContain('virtual size: 1 MiB (1048576 bytes)');
    } finally {
      await serve.process.stop();
    }
  });

  it('is started by libnbd socket activation: nbdinfo -- [ blk serve ram:64M ]', async () => {
    const r = await runOk(peers.nbdinfo!, ['--size', '--', '[', process.execPath, BIN, 'serve', 'ram:64M', ']']);
    expect(r.stdout.trim()).toBe(String(64 * MiB));
  });

  describeWithPeers('stdio mode', ['nbdsh'], (sh) => {
    it('serves one client that started it with its end of the connection on stdin/stdout', async () => {
      // nbdsh runs python3 from PATH; the Debian one has the nbd module.
      const env = { ...process.env, PATH: `/usr/bin:${process.env.PATH ?? ''}` };
      const script = [
        `h.connect_command([${JSON.stringify(process.execPath)}, ${JSON.stringify(BIN)}, "serve", "--stdio", "ram:1M"])`,
        'print(h.get_size())',
        'h.pwrite(b"blk!" * 128, 4096)',
        'print(h.pread(512, 4096)[:8].decode())',
        'print(h.pread(512, 0) == bytes(512))',
      ].join('\n');
      const r = await runOk(sh.nbdsh!, ['-c', script], { env });
      expect(r.stdout).toBe(`${MiB}\nblk!blk!\nTrue\n`);
      expect(r.stderr).toContain('blk serve: serving one client on stdin/stdout');
    });
  });

  describe('failures', () => {
    let blocker: Server;
    let busyPort: number;
    beforeAll(async () => {
      blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      busyPort = (blocker.address() as { port: number }).port;
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    });

    it('a port in use: one line, exit 1', async () => {
      const r = await blk(['serve', 'ram:1M', '--port', String(busyPort)]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`blk: serve: cannot listen on 127.0.0.1:${busyPort}: address already in use (EADDRINUSE)\n`);
    });

    it('a socket path that is a regular file is left alone; a stale socket is replaced', async () => {
      const file = at('not-a-socket');
      writeFileSync(file, 'keep me');
      const r = await blk(['serve', 'ram:1M', '--socket', file]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`blk: serve: cannot listen on ${file}: the path exists and is not a socket\n`);
      expect(readFileSync(file, 'utf8')).toBe('keep me');
      // A server killed with SIGKILL leaves its socket file behind.
      const socket = at('stale.sock');
      const first = await startServe(['ram:1M', '--socket', socket]);
      first.process.child.kill('SIGKILL');
      await exited(first.process.child);
      const second = await startServe(['ram:1M', '--socket', socket]);
      try {
        await runOk(peers.nbdinfo!, ['--size', second.uris[0]!]);
        const third = await blk(['serve', 'ram:1M', '--socket', socket]);
        expect(third.code).toBe(1);
        expect(third.stderr).toBe(`blk: serve: cannot listen on ${socket}: another server is listening there\n`);
      } finally {
        await second.process.stop();
      }
    });

    it.each([
      [['serve'], 'blk: serve: missing SPEC'],
      [['serve', 'ram:1M', 'ram:2M'], 'blk: serve: 2 SPECs need 2 --name options, one each'],
      [['serve', 'ram:1M', '--name', 'a', '--name', 'b'], 'blk: serve: 1 SPEC(s) but 2 --name option(s); give one per SPEC'],
      [['serve', 'ram:1M', 'ram:1M', '--name', 'a', '--name', 'a'], "blk: serve: export name 'a' given twice"],
      [['serve', 'ram:1M', '--port', '70000'], "blk: serve: bad port '70000': expected 0–65535"],
      [['serve', 'ram:1M', '--port', '1', '--socket', '/tmp/x'], 'blk: serve: choose one of --socket, --stdio or --port/--host'],
      [['serve', 'ram:1M', '--tls', 'require'], 'blk: serve: --tls needs --tls-psk FILE or --tls-certificates DIR'],
      [['serve', 'ram:1M', '--tls-psk', '/tmp/k', '--tls', 'maybe'], "blk: serve: bad --tls 'maybe': expected require or on"],
      [['serve', 'floppy:1M'], "blk: serve: bad device spec 'floppy:1M'"],
    ])('%j is a usage error', async (args, message) => {
      const r = await blk(args);
      expect(r.code).toBe(2);
      expect(r.stderr.startsWith(message)).toBe(true);
    });

    it('a missing file or PSK file fails with one line, exit 1', async () => {
      const missing = await blk(['serve', `file:${at('nope.img')}`, '--port', '0']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toBe(`blk: cannot open file:${at('nope.img')}: no such file or directory (ENOENT)\n`);
      const psk = await blk(['serve', 'ram:1M', '--tls-psk', at('nope.psk'), '--port', '0']);
      expect(psk.code).toBe(1);
      expect(psk.stderr).toBe(`blk: serve: cannot use --tls-psk ${at('nope.psk')}: no such file or directory (ENOENT)\n`);
    });
  });
});
