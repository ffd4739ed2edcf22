import { encodeFrame, FrameDecoder, MessageType, nulTerminated, type Frame } from '../../src/index.js';
import { duplexPair } from '../../src/server/duplex-pair.js';
import type { Duplex } from 'node:stream';

/** A scripted server: `onFrame` decides what to send back for each request. */
export class FakeServer {
  readonly clientSide: Duplex;
  readonly received: Frame[] = [];
  readonly #serverSide: Duplex;

  constructor(onFrame: (frame: Frame, server: FakeServer) => void) {
    const [client, server] = duplexPair();
    this.clientSide = client;
    this.#serverSide = server;
    const decoder = new FrameDecoder();
    server.on('data', (chunk: Uint8Array) => {
      for (const frame of decoder.push(chunk).frames) {
        this.received.push(frame);
        onFrame(frame, this);
      }
    });
    server.on('error', () => undefined);
    server.on('end', () => server.end());
  }

  sendFrame(frame: Frame): void {
    this.#serverSide.write(encodeFrame(frame, Number.MAX_SAFE_INTEGER));
  }

  sendBytes(bytes: Uint8Array): void {
    this.#serverSide.write(bytes);
  }

  ok(to: Frame): void {
    this.sendFrame({ type: to.type, reqId: to.reqId, txId: to.txId, payload: nulTerminated('OK') });
  }

  error(to: Frame, name: string): void {
    this.sendFrame({ type: MessageType.ERROR, reqId: to.reqId, txId: to.txId, payload: nulTerminated(name) });
  }

  reply(to: Frame, payload: Uint8Array): void {
    this.sendFrame({ type: to.type, reqId: to.reqId, txId: to.txId, payload });
  }

  event(path: string, token: string): void {
    this.sendFrame({ type: MessageType.WATCH_EVENT, reqId: 0, txId: 0, payload: nulTerminated(path, token) });
  }

  destroy(): void {
    this.#serverSide.destroy();
  }
}
