import type { Duplex } from 'node:stream';
import { makeTempDir } from '@blk/test-kit';
import {
  connect,
  createServer,
  encodeFrame,
  FrameDecoder,
  nulTerminated,
  type Client,
  type Frame,
  type Server,
  type ServerOptions,
} from '../../src/index.js';

/** A frame-level client for poking the server with exact bytes. */
export class RawConnection {
  readonly stream: Duplex;
  readonly #decoder = new FrameDecoder();
  readonly #frames: Frame[] = [];
  #waiters: (() => void)[] = [];
  #ended = false;

  constructor(stream: Duplex) {
    this.stream = stream;
    stream.on('data', (chunk: Uint8Array) => {
      const { frames } = this.#decoder.push(chunk);
      this.#frames.push(...frames);
      this.#wakeAll();
    });
    const end = () => {
      this.#ended = true;
      this.#wakeAll();
    };
    stream.on('end', end);
    stream.on('close', end);
    stream.on('error', end);
  }

  get ended(): boolean {
    return this.#ended;
  }

  sendBytes(bytes: Uint8Array): void {
    this.stream.write(bytes);
  }

  send(type: number, payload: Uint8Array | string, options: { reqId?: number; txId?: number } = {}): void {
    const body = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
    this.sendBytes(encodeFrame({ type, reqId: options.reqId ?? 7, txId: options.txId ?? 0, payload: body }));
  }

  /** Sends and returns the next non-event frame. */
  async call(type: number, payload: Uint8Array | string, options: { reqId?: number; txId?: number } = {}): Promise<Frame> {
    this.send(type, payload, options);
    return this.next((f) => f.type !== 15);
  }

  /** The next frame (matching `filter`), removing it from the queue. Rejects after `ms`. */
  async next(filter: (frame: Frame) => boolean = () => true, ms = 5000): Promise<Frame> {
    const deadline = Date.now() + ms;
    for (;;) {
      const index = this.#frames.findIndex(filter);
      if (index >= 0) return this.#frames.splice(index, 1)[0]!;
      if (this.#ended) throw new Error('connection ended while waiting for a frame');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a frame');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Frames received and not yet taken. */
  pending(): Frame[] {
    return [...this.#frames];
  }

  /** Waits until the server ends the connection. */
  async waitEnded(ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.#ended) {
      if (Date.now() > deadline) throw new Error('connection still open');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 20);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.stream.destroy();
  }

  #wakeAll(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}

export const text = (payload: Uint8Array): string => new TextDecoder().decode(payload);
export const z = (...parts: string[]): Uint8Array => nulTerminated(...parts);

/** A server in a temp dir with helpers to attach clients; `close()` stops everything. */
export interface Harness {
  readonly server: Server;
  readonly dir: string;
  readonly socket: string;
  client(domid?: number): Promise<Client>;
  raw(domid?: number): RawConnection;
  close(): Promise<void>;
}

export async function startHarness(options: ServerOptions & { listen?: boolean } = {}): Promise<Harness> {
  const dir = makeTempDir('blk-xs-');
  const socket = `${dir.path}/xs.sock`;
  const server = createServer(options);
  if (options.listen !== false) await server.listen(socket);
  const clients: Client[] = [];
  const raws: RawConnection[] = [];
  return {
    server,
    dir: dir.path,
    socket,
    async client(domid = 0) {
      const c = await connect({ stream: server.connectAs(domid) });
      clients.push(c);
      return c;
    },
    raw(domid = 0) {
      const r = new RawConnection(server.connectAs(domid));
      raws.push(r);
      return r;
    },
    async close() {
      for (const r of raws) r.close();
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
      dir.remove();
    },
  };
}

/** 'OK' when the request succeeds, else the error's wire code. */
export async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (error) {
    return (error as { code: string }).code;
  }
}
