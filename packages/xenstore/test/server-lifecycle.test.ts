import { spawn } from 'node:child_process';
import { existsSync, lstatSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { Duplex } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir, waitFor } from '@blk/test-kit';
import { connect, createServer, encodeFrame, FrameDecoder, MessageType as T, nulTerminated, type Server } from '../src/index.js';

let dir: { path: string; remove(): void };
let servers: Server[];
beforeEach(() => {
  dir = makeTempDir('blk-xs-life-');
  servers = [];
});
afterEach(async () => {
  for (const s of servers) await s.close();
  dir.remove();
});

function server(options: Parameters<typeof createServer>[0] = {}): Server {
  const s = createServer(options);
  servers.push(s);
  return s;
}

describe('server lifecycle', () => {
  it('replaces a stale socket file, refuses a live socket and a regular file, unlinks on close', async () => {
    const path = `${dir.path}/xs.sock`;
    // A socket file nobody listens on any more: its server was killed without cleaning up.
    const owner = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`]);
    await new Promise<void>((r) => owner.stdout.once('data', () => r()));
    owner.kill('SIGKILL');
    await new Promise((r) => owner.once('exit', r));
    expect(lstatSync(path).isSocket()).toBe(true);
    writeFileSync(`${dir.path}/plain`, 'x');
    const live = createNetServer();
    await new Promise<void>((r) => live.listen(`${dir.path}/live.sock`, r));
    try {
      const s = server();
      await s.listen(path);
      expect(s.paths).toEqual([path]);
      await expect(server().listen(`${dir.path}/plain`)).rejects.toMatchObject({ code: 'EADDRINUSE' });
      await expect(server().listen(`${dir.path}/live.sock`)).rejects.toMatchObject({ code: 'EADDRINUSE' });
      await expect(server().listen(path)).rejects.toMatchObject({ code: 'EADDRINUSE' });
      await s.close();
      expect(existsSync(path)).toBe(false);
      await expect(s.listen(path)).rejects.toThrow('closed');
      expect(() => s.connectAs(0)).toThrow('closed');
    } finally {
      live.close();
    }
  });

  it('the socket is mode 0600 whatever the umask (every socket client is privileged dom0)', async () => {
    const path = `${dir.path}/mode.sock`;
    const previous = process.umask(0o000);
    try {
      await server().listen(path);
    } finally {
      process.umask(previous);
    }
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('refuses invalid domids for in-process connections', () => {
    const s = server();
    for (const bad of [-1, 1.5, 2 ** 32]) expect(() => s.connectAs(bad)).toThrow(RangeError);
  });

  it('a client reconnects with suspend/resume after the server restarted from its file', async () => {
    const path = `${dir.path}/xs.sock`;
    const file = `${dir.path}/tree.json`;
    const first = server({ persist: file });
    await first.listen(path);
    const c = await connect({ path });
    await c.immediate((x) => x.write('/survives', 'yes'));
    await first.close();
    await expect(c.immediate((x) => x.read('/survives'))).rejects.toMatchObject({ code: 'ENOTCONN' });
    const second = server({ persist: file });
    await second.listen(path);
    await c.suspend();
    await c.resume();
    expect(await c.immediate((x) => x.read('/survives'))).toBe('yes');
    await c.close();
  });

  it('a client that stops reading is not read either, and loses no reply once it reads again', async () => {
    const s = server({ limits: { outputBytes: 64 * 1024 } });
    const count = 20_000;
    // The client's end: replies are taken (their write callbacks called) only while it reads.
    const replies = new FrameDecoder();
    let next = 1;
    let wrong = 0;
    let reading = false;
    const held: (() => void)[] = [];
    const stream = new Duplex({
      read() {
        // requests are pushed by the test
      },
      write(chunk: Buffer, _encoding, done) {
        for (const f of replies.push(chunk).frames) {
          if (f.reqId !== next || f.type !== T.READ) wrong++;
          next++;
        }
        if (reading) done();
        else held.push(() => done());
      },
    });
    s.attach(stream);
    for (let i = 1; i <= count; i++) stream.push(encodeFrame({ type: T.READ, reqId: i, txId: 0, payload: nulTerminated('/tool') }));
    // the server stops reading once its replies back up, leaving the rest of the requests unread
    await waitFor(() => stream.isPaused(), 'the server to stop reading');
    expect(stream.readableLength).toBeGreaterThan(0);
    const answeredWhilePaused = next - 1;
    expect(answeredWhilePaused).toBeLessThan(count);
    reading = true;
    for (const done of held.splice(0)) done();
    await waitFor(() => next > count, 'every reply');
    expect(wrong).toBe(0);
    stream.destroy();
  });
});
