import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPeers, makeTempDir, runOk, startProcess, waitFor } from '@blk/test-kit';
import { blk, exited, startBlk } from '../helpers/blk.js';
import { startServe, type ServeHandle } from '../helpers/serve.js';

const MiB = 2 ** 20;

describeWithPeers('NBD URIs as SPECs: blk against its own server and against nbdkit', ['nbdkit', 'nbdcopy', 'nbdinfo'], (peers) => {
  let dir: { path: string; remove(): void };
  let data: Buffer;
  const at = (name: string) => join(dir.path, name);
  const nbdkits: ReturnType<typeof startProcess>[] = [];

  /** `nbdkit -f -U SOCKET ARGS…`, ready when its socket answers; returns the URI. */
  async function nbdkit(name: string, args: string[]): Promise<string> {
    const socket = at(`${name}.sock`);
    const server = startProcess(peers.nbdkit!, ['-f', '-U', socket, ...args]);
    nbdkits.push(server);
    const uri = `nbd+unix:///?socket=${socket}`;
    await waitFor(
      async () =>
        await runOk(peers.nbdinfo!, ['--can', 'connect', uri]).then(
          () => true,
          () => false,
        ),
      `nbdkit ${name}`,
      20_000,
    );
    return uri;
  }

  beforeAll(() => {
    dir = makeTempDir('blk-cli-nbd-');
    data = Buffer.alloc(16 * MiB);
    randomBytes(6 * MiB).copy(data, 0);
    randomBytes(2 * MiB).copy(data, 12 * MiB);
    writeFileSync(at('data.img'), data);
  });
  afterAll(async () => {
    await Promise.all(nbdkits.map((s) => s.stop()));
    dir.remove();
  });

  it('copies a file into a ramdisk served by blk and back out, byte for byte, and into a local ramdisk', async () => {
    const serve: ServeHandle = await startServe(['ram:16M', '--port', '0']);
    try {
      const uri = serve.uris[0]!;
      const up = await blk(['copy', '--verify', `file:${at('data.img')}`, uri]);
      expect(up.code).toBe(0);
      expect(up.stdout).toContain(`to ${uri} in `);
      const down = await blk(['copy', '--verify', uri, `file:${at('down.img')}`]);
      expect(down.code).toBe(0);
      expect(readFileSync(at('down.img')).equals(data)).toBe(true);
      const ram = await blk(['copy', '--verify', uri, 'ram:16M,sector=4096']);
      expect(ram.code).toBe(0);
      expect(ram.stdout).toMatch(/, verified\n$/);
      // What the server holds, read by a foreign client.
      await runOk(peers.nbdcopy!, [uri, at('via-nbdcopy.img')]);
      expect(readFileSync(at('via-nbdcopy.img')).equals(data)).toBe(true);
    } finally {
      await serve.process.stop();
    }
  });

  it('copies into nbdkit memory, which nbdcopy then reads back identical; info and map see its holes', async () => {
    const uri = await nbdkit('memory', ['memory', '16M']);
    const r = await blk(['copy', `file:${at('data.img')}`, uri]);
    expect(r.code).toBe(0);
    await runOk(peers.nbdcopy!, [uri, at('from-nbdkit.img')]);
    expect(readFileSync(at('from-nbdkit.img')).equals(data)).toBe(true);
    const info = await blk(['info', '--json', uri]);
    expect(info.code).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ sizeBytes: 16 * MiB, readWrite: true, supports: { seek: true, flush: true } });
    const map = await blk(['map', '--json', uri]);
    expect(map.code).toBe(0);
    const rows = JSON.parse(map.stdout) as { offset: number; length: number; mapped: boolean }[];
    expect(rows.reduce((n, r) => n + r.length, 0)).toBe(16 * MiB);
    const zero = rows.filter((row) => !row.mapped);
    // [6 MiB, 12 MiB) and [14 MiB, 16 MiB) were never written.
    expect(zero.some((row) => row.offset <= 6 * MiB && row.offset + row.length >= 12 * MiB)).toBe(true);
    expect(zero.some((row) => row.offset <= 14 * MiB && row.offset + row.length === 16 * MiB)).toBe(true);
  });

  it('stops a copy into a slow NBD export on SIGINT: exit 130, the export incomplete, its end untouched', async () => {
    const uri = await nbdkit('slow', ['--filter=delay', 'memory', '16M', 'wdelay=20ms']);
    const copy = startBlk(['copy', '--chunk', '64K', '--progress', 'lines', `file:${at('data.img')}`, uri]);
    try {
      await waitFor(() => copy.output().includes('copy: 10%'), 'the first progress line', 30_000);
      copy.child.kill('SIGINT');
      expect((await exited(copy.child)).code).toBe(130);
      expect(copy.output()).toMatch(/blk copy: stopped by SIGINT after \d+ of /);
      expect(copy.output()).toContain(` of ${16 * MiB} bytes; ${uri} is incomplete\n`);
      await runOk(peers.nbdcopy!, [uri, at('partial.img')]);
      const partial = readFileSync(at('partial.img'));
      expect(partial.subarray(12 * MiB, 14 * MiB).equals(Buffer.alloc(2 * MiB))).toBe(true);
    } finally {
      await copy.stop();
    }
  });

  it('reaches a TLS-PSK export with the nbds URIs blk serve prints, TCP and Unix socket', async () => {
    const keys = at('keys.psk');
    writeFileSync(keys, `alice:${randomBytes(32).toString('hex')}\n`);
    const tcp = await startServe(['ram:4M', '--tls-psk', keys, '--port', '0']);
    const unix = await startServe(['ram:4M', '--tls-psk', keys, '--socket', at('tls.sock')]);
    try {
      expect(unix.uris[0]).toBe(`nbds+unix://alice@/?socket=${at('tls.sock')}&tls-psk-file=${keys}`);
      writeFileSync(at('four.img'), data.subarray(0, 4 * MiB));
      for (const uri of [tcp.uris[0]!, unix.uris[0]!]) {
        const r = await blk(['copy', '--verify', `file:${at('four.img')}`, uri]);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/, verified\n$/);
      }
      const plain = await blk(['info', tcp.uris[0]!.replace('nbds://alice@', 'nbd://').replace(/\?.*$/, '')]);
      expect(plain.code).toBe(1);
      expect(plain.stderr).toMatch(/^blk: cannot open nbd:\/\/127\.0\.0\.1:\d+\/: .+\n$/);
    } finally {
      await Promise.all([tcp.process.stop(), unix.process.stop()]);
    }
  });

  it('a server that is not there: one line, exit 1', async () => {
    const socket = at('nobody.sock');
    const r = await blk(['info', `nbd+unix:///?socket=${socket}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^blk: cannot open nbd\\+unix:///\\?socket=${socket}: no such file or directory \\(ENOENT\\)\\n$`));
    const refused = await blk(['copy', 'ram:1M', 'nbd://127.0.0.1:1/']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('blk: cannot open nbd://127.0.0.1:1/: connection refused (ECONNREFUSED)\n');
  });
});
