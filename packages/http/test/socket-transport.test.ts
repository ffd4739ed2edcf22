// The Node entry's own HTTP/1.1 sockets against a server that breaks HTTP at the byte level: each
// answer a typed error (IO, NETWORK after the retries), never bytes; and disconnect() closes them.
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../src/node.js';
import { SocketTransport } from '../src/socket-transport.js';
import { expectHttpError } from './helpers/expect-http-error.js';

const HEAD_OK = 'HTTP/1.1 200 OK\r\nAccept-Ranges: bytes\r\nContent-Length: 4096\r\n\r\n';
const PROBE_OK = 'HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-0/4096\r\nContent-Length: 1\r\n\r\nx';

const CLOSE = '<close>';

interface RawServer {
  readonly url: string;
  readonly open: () => number;
  readonly close: () => Promise<void>;
}

/**
 * Answers the requests it gets, in order across connections, with `answers`: raw bytes; 'close'
 * drops the connection; bytes ending in CLOSE are written, then the connection is closed.
 */
async function rawServer(answers: string[]): Promise<RawServer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let pending = '';
    socket.on('data', (data: Buffer) => {
      pending += data.toString('latin1');
      while (pending.includes('\r\n\r\n')) {
        pending = pending.slice(pending.indexOf('\r\n\r\n') + 4);
        const answer = answers.shift() ?? 'close';
        if (answer === 'close') socket.destroy();
        else if (answer.endsWith(CLOSE)) socket.end(answer.slice(0, -CLOSE.length), 'latin1');
        else socket.write(answer, 'latin1');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/disk.img`,
    open: () => sockets.size,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let current: RawServer | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

describe('the Node socket transport against a server that breaks HTTP', () => {
  it.each([
    ['a status line that is not HTTP/1.x', 'SSH-2.0-OpenSSH_9.2\r\n\r\n'],
    ['a head longer than 64 KiB', `HTTP/1.1 206 Partial Content\r\n${'X-Filler: yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n'.repeat(2000)}\r\n`],
    ['a bad chunk size', 'HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-0/4096\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
    [
      'two Content-Lengths',
      'HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-0/4096\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx',
    ],
    ['a close mid-head', `HTTP/1.1 206 Partial Con${CLOSE}`],
    ['a close before any answer', 'close'],
  ])('%s fails connect with IO/NETWORK', async (_, answer) => {
    current = await rawServer([HEAD_OK, answer, 'close']);
    const error = await expectHttpError(connect(current.url, { retries: 0 }), 'IO', 'NETWORK');
    expect(error.message).not.toContain('undefined');
  });

  it('a body cut short is retried from the first byte not received, and the bytes come out right', async () => {
    const body = Buffer.from(Uint8Array.from({ length: 4096 }, (_, i) => i & 0xff)).toString('latin1');
    current = await rawServer([
      HEAD_OK,
      PROBE_OK,
      `HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-4095/4096\r\nContent-Length: 4096\r\n\r\n${body.slice(0, 1000)}${CLOSE}`,
      `HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 1000-4095/4096\r\nContent-Length: 3096\r\n\r\n${body.slice(1000)}`,
    ]);
    const device = await connect(current.url, { retries: 1, retryDelayMs: 0, blockSize: 4096 });
    const out = new Uint8Array(4096);
    await device.read(0, [out]);
    expect(Buffer.from(out).toString('latin1')).toBe(body);
    expect(device.stats.connections).toBe(2);
    await device.disconnect();
  });

  it('disconnect() closes every connection the device opened', async () => {
    const body = Buffer.alloc(4096, 1).toString('latin1');
    current = await rawServer([
      HEAD_OK,
      PROBE_OK,
      `HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-4095/4096\r\nContent-Length: 4096\r\n\r\n${body}`,
    ]);
    const device = await connect(current.url, { blockSize: 4096 });
    const out = new Uint8Array(4096);
    await device.read(0, [out]);
    expect(out.every((b) => b === 1)).toBe(true);
    expect(device.stats.connections).toBe(1);
    expect(current.open()).toBe(1);
    await device.disconnect();
    await expect.poll(() => current!.open()).toBe(0);
  });
});

describe('the Node socket transport keeping bytes for a consumer that comes late', () => {
  it('gives every byte, in order, when more reads arrive before anyone consumes', async () => {
    const parts = ['a', 'b', 'c', 'd', 'e', 'f'].map((c) => c.repeat(3000));
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.once('data', () => {
        socket.write(`HTTP/1.1 206 Partial Content\r\nContent-Length: ${parts.length * 3000}\r\n\r\n${parts[0]!}`, 'latin1');
        // The rest in separate writes: separate reads of the client, while nobody consumes yet.
        let next = 1;
        const timer = setInterval(() => {
          socket.write(parts[next++]!, 'latin1');
          if (next === parts.length) clearInterval(timer);
        }, 5);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const transport = new SocketTransport({ maxSockets: 1, lingerMs: 1000 });
    try {
      const response = await transport.request('GET', `http://127.0.0.1:${port}/x`, {}).response;
      await new Promise((resolve) => setTimeout(resolve, 60));
      let text = '';
      await response.consume((chunk) => {
        text += Buffer.from(chunk).toString('latin1');
        return true;
      });
      response.release();
      expect(text).toBe(parts.join(''));
    } finally {
      transport.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
