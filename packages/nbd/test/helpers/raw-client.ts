import * as net from 'node:net';
import { FLAG_C_FIXED_NEWSTYLE, FLAG_C_NO_ZEROES, Option, Reply, isErrorReply } from '../../src/constants.js';
import { FrameReader } from '../../src/frame-reader.js';
import { decodeOptionReplyHeader, encodeInfoRequest, encodeMetaContextRequest, encodeOption } from '../../src/option-codec.js';
import { decodeReplyHeader, encodeRequest } from '../../src/transmission-codec.js';

export interface RawOptionReply {
  readonly option: number;
  readonly type: number;
  readonly data: Buffer;
}

export type RawReply =
  | { readonly kind: 'simple'; readonly error: number; readonly cookie: number; readonly data?: Buffer }
  | { readonly kind: 'chunk'; readonly flags: number; readonly type: number; readonly cookie: number; readonly payload: Buffer };

/**
 * A hand-driven NBD client for hostile and edge-case tests: it sends exactly the bytes it is
 * told to and reads replies with a deadline, so every test is bounded in time.
 */
export class RawClient {
  readonly reader = new FrameReader();
  readonly #closed: Promise<void>;
  #isClosed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.reader.push(chunk);
    });
    socket.on('error', () => undefined);
    this.#closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.#isClosed = true;
        this.reader.fail(new Error('server closed the connection'));
        resolve();
      });
    });
  }

  static async connect(path: string): Promise<RawClient> {
    const socket = net.connect({ path });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  send(...chunks: Uint8Array[]): void {
    for (const chunk of chunks) this.socket.write(chunk);
  }

  /** Reads `n` bytes, failing after `timeoutMs`. */
  async read(n: number, timeoutMs = 3000): Promise<Buffer> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.reader.exact(n),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            reject(new Error(`no ${n} bytes within ${timeoutMs} ms`));
          }, timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves true if the server closes the connection within `timeoutMs`, false otherwise. */
  async closedWithin(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      this.#closed.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => {
          resolve(false);
        }, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return result;
  }

  /** Reads the greeting and answers with client flags. */
  async greet(flags = FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES): Promise<number> {
    const greeting = await this.read(18);
    const out = Buffer.alloc(4);
    out.writeUInt32BE(flags >>> 0);
    this.send(out);
    return greeting.readUInt16BE(16);
  }

  async readOptionReply(): Promise<RawOptionReply> {
    const header = decodeOptionReplyHeader(await this.read(20));
    if (!header) throw new Error('bad option reply magic');
    return { option: header.option, type: header.type, data: await this.read(header.length) };
  }

  /** Sends an option and collects replies up to the final one (ACK or an error). */
  async option(option: number, data?: Uint8Array): Promise<RawOptionReply[]> {
    this.send(encodeOption(option, data));
    const replies: RawOptionReply[] = [];
    for (;;) {
      const reply = await this.readOptionReply();
      replies.push(reply);
      if (reply.type === Reply.ACK || isErrorReply(reply.type)) return replies;
    }
  }

  /** Greets, negotiates structured replies and base:allocation if asked, and enters transmission with GO. */
  async open(name: string, options: { structured?: boolean; blockStatus?: boolean } = {}): Promise<RawOptionReply[]> {
    await this.greet();
    if (options.structured ?? true) await this.option(Option.STRUCTURED_REPLY);
    if (options.blockStatus ?? true) await this.option(Option.SET_META_CONTEXT, encodeMetaContextRequest(name, ['base:allocation']));
    const replies = await this.option(Option.GO, encodeInfoRequest(name, []));
    const last = replies.at(-1)!;
    if (last.type !== Reply.ACK) throw new Error(`GO failed with reply type ${last.type}: ${last.data.toString()}`);
    return replies;
  }

  request(type: number, flags: number, cookie: number, offset: number, length: number, payload?: Uint8Array): void {
    this.send(encodeRequest(flags, type, cookie, offset, length));
    if (payload) this.send(payload);
  }

  /** Reads one reply message; a simple reply carries `readLength` data bytes when it is a successful read. */
  async reply(readLength = 0, timeoutMs = 3000): Promise<RawReply> {
    const magic = (await this.read(4, timeoutMs)).readUInt32BE(0);
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(magic);
    if (magic === 0x67446698) {
      const header = decodeReplyHeader(Buffer.concat([prefix, await this.read(12, timeoutMs)]));
      if (header.kind !== 'simple') throw new Error('unreachable');
      const data = header.error === 0 && readLength > 0 ? await this.read(readLength, timeoutMs) : undefined;
      return { kind: 'simple', error: header.error, cookie: header.cookie, ...(data ? { data } : {}) };
    }
    if (magic !== 0x668e33ef) throw new Error(`bad reply magic 0x${magic.toString(16)}`);
    const header = decodeReplyHeader(Buffer.concat([prefix, await this.read(16, timeoutMs)]));
    if (header.kind !== 'chunk') throw new Error('unreachable');
    return {
      kind: 'chunk',
      flags: header.flags,
      type: header.type,
      cookie: header.cookie,
      payload: await this.read(header.length, timeoutMs),
    };
  }

  close(): void {
    this.socket.destroy();
  }
}
