import * as net from 'node:net';
import { join } from 'node:path';
import { BASE_ALLOCATION, Command, Option, Reply, TransmissionFlag } from '../../src/constants.js';
import { FrameReader } from '../../src/frame-reader.js';
import { decodeOptionHeader, encodeGreeting, encodeInfoExport, encodeMetaContextReply, encodeOptionReply } from '../../src/option-codec.js';
import { decodeRequest, type RequestHeader } from '../../src/transmission-codec.js';

/** The server side of one connection, driven by a test script byte by byte. */
export class FakeConnection {
  readonly reader = new FrameReader();

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.reader.push(chunk);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.reader.fail(new Error('client closed'));
    });
  }

  send(...chunks: Uint8Array[]): void {
    for (const chunk of chunks) this.socket.write(chunk);
  }

  /**
   * A well-behaved handshake up to GO: STRUCTURED_REPLY and SET_META_CONTEXT answered as asked,
   * INFO_EXPORT with `size` and `flags`, then ACK.
   */
  /** Negotiates like a plain server; `infos` replaces the INFO replies sent to GO. */
  async handshake(
    options: { structured?: boolean; contextId?: number; size?: number; flags?: number; infos?: readonly Buffer[] } = {},
  ): Promise<void> {
    const { structured = true, contextId = 7, size = 1 << 20 } = options;
    const flags = options.flags ?? TransmissionFlag.HAS_FLAGS | TransmissionFlag.SEND_FLUSH;
    this.send(encodeGreeting());
    await this.reader.exact(4);
    for (;;) {
      const header = decodeOptionHeader(await this.reader.exact(16));
      if (!header) throw new Error('bad option magic from the client');
      await this.reader.exact(header.length);
      switch (header.option) {
        case Option.STRUCTURED_REPLY:
          this.send(encodeOptionReply(header.option, structured ? Reply.ACK : Reply.ERR_UNSUP));
          break;
        case Option.SET_META_CONTEXT:
          this.send(encodeOptionReply(header.option, Reply.META_CONTEXT, encodeMetaContextReply(contextId, BASE_ALLOCATION)));
          this.send(encodeOptionReply(header.option, Reply.ACK));
          break;
        case Option.GO:
          for (const info of options.infos ?? [encodeInfoExport(size, flags)])
            this.send(encodeOptionReply(header.option, Reply.INFO, info));
          this.send(encodeOptionReply(header.option, Reply.ACK));
          return;
        default:
          this.send(encodeOptionReply(header.option, Reply.ERR_UNSUP));
      }
    }
  }

  /** The next request (its WRITE payload consumed). */
  async request(): Promise<RequestHeader> {
    const header = decodeRequest(await this.reader.exact(28));
    if (!header) throw new Error('bad request magic from the client');
    if (header.type === Command.WRITE) await this.reader.exact(header.length);
    return header;
  }
}

/** A one-connection-at-a-time fake NBD server on a Unix socket; `script` plays each connection. */
export async function fakeServer(
  dir: string,
  script: (connection: FakeConnection) => Promise<void>,
): Promise<{ path: string; errors: unknown[]; close(): Promise<void> }> {
  const path = join(dir, `fake-${Math.random().toString(36).slice(2)}.sock`);
  const errors: unknown[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    script(new FakeConnection(socket)).catch((e: unknown) => errors.push(e));
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    path,
    errors,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}
