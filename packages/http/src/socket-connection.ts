// Node-only: reached from the package's "node" export (src/node.ts), never from the browser entry.
// eslint-disable-next-line no-restricted-imports -- node:net is this file's reason to be
import { connect as netConnect, type Socket } from 'node:net';
import { abortError, type Exchange } from './socket-exchange.js';
import { asError } from './transport.js';

/** Bytes one socket read lands in (reused for every read of the connection). */
export const READ_BUFFER_BYTES = 256 * 1024;

/** One keep-alive connection to one origin, carrying one exchange at a time. */
export class Connection {
  readonly socket: Socket;
  keepAlive = true;
  /** Requests it has carried (1 while carrying its first). */
  uses = 0;
  #exchange: Exchange | undefined;
  readonly #pool: Pool;
  #closed = false;
  /**
   * The read buffers: the second is made the first time an exchange keeps a view of the first
   * past a read (see `#nextBuffer`).
   */
  readonly #buffers: [Uint8Array, Uint8Array | undefined] = [new Uint8Array(READ_BUFFER_BYTES), undefined];
  #reading = 0;

  constructor(pool: Pool, host: string, port: number) {
    this.#pool = pool;
    this.socket = netConnect({
      host,
      port,
      noDelay: true,
      onread: {
        buffer: () => this.#nextBuffer(),
        callback: (length: number, buffer: Uint8Array) => {
          this.#onRead(buffer.subarray(0, length));
          return true;
        },
      },
    });
    this.socket.on('error', (error) => this.destroy(error));
    this.socket.on('end', () => this.#onEnd());
    this.socket.on('close', () => this.destroy(new Error('the connection closed')));
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(exchange: Exchange, head: string): void {
    this.#exchange = exchange;
    this.uses++;
    this.keepAlive = true;
    this.socket.ref();
    this.socket.write(head, 'latin1');
    this.resume();
  }

  #onRead(bytes: Uint8Array): void {
    const exchange = this.#exchange;
    if (exchange === undefined) {
      // Bytes nobody asked for on an idle connection: it cannot be trusted with a request.
      this.destroy(new Error('bytes on an idle connection'));
      return;
    }
    try {
      exchange.onBytes(bytes);
    } catch (error) {
      exchange.fail(asError(error));
    }
  }

  /**
   * Where the next read lands (net.Socket asks after every read): the same buffer, unless the
   * exchange still keeps a view of it (body bytes nobody has consumed yet); then the other one, so
   * those bytes stay intact without pausing the socket. The exchange copies what it keeps past a
   * second read, so the other buffer is free again by then.
   */
  #nextBuffer(): Uint8Array {
    const current = this.#buffers[this.#reading]!;
    if (this.#exchange?.holdsViewOf(current) !== true) return current;
    this.#reading ^= 1;
    return (this.#buffers[this.#reading] ??= new Uint8Array(READ_BUFFER_BYTES));
  }

  #onEnd(): void {
    const exchange = this.#exchange;
    this.#exchange = undefined;
    exchange?.onEof();
    this.destroy(new Error('the server closed the connection'));
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** The exchange ended cleanly. */
  done(exchange: Exchange): void {
    if (this.#exchange !== exchange) return;
    this.#exchange = undefined;
    if (!this.keepAlive || exchange.parser.head?.keepAlive !== true) {
      this.destroy(new Error('the connection is not kept alive'));
      return;
    }
    this.socket.unref();
    // Reads on while idle, so a server closing it is noticed.
    this.resume();
    this.#pool.idle(this);
  }

  destroy(error: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    const exchange = this.#exchange;
    this.#exchange = undefined;
    this.socket.destroy();
    exchange?.fail(error);
    this.#pool.gone(this);
  }
}

/** The connections to one origin: at most `maxSockets`, idle ones reused last-in first-out. */
export class Pool {
  readonly #host: string;
  readonly #port: number;
  readonly #maxSockets: number;
  readonly #idle: Connection[] = [];
  readonly #all = new Set<Connection>();
  readonly #waiting: ((connection: Connection | Error) => void)[] = [];
  #closed = false;
  /** Connections opened so far. */
  opened = 0;

  constructor(host: string, port: number, maxSockets: number) {
    this.#host = host;
    this.#port = port;
    this.#maxSockets = maxSockets;
  }

  /** A connection for one request: an idle one, a new one, or the next one freed. */
  take(fresh: boolean): Promise<Connection> {
    if (this.#closed) return Promise.reject(abortError());
    if (!fresh) {
      const idle = this.#idle.pop();
      if (idle !== undefined) return Promise.resolve(idle);
    }
    if (this.#all.size < this.#maxSockets) return Promise.resolve(this.#open());
    if (fresh && this.#idle.length > 0) {
      this.#idle.shift()!.destroy(new Error('replaced by a fresh connection'));
      return Promise.resolve(this.#open());
    }
    return new Promise((resolve, reject) => {
      this.#waiting.push((c) => (c instanceof Error ? reject(c) : resolve(c)));
    });
  }

  #open(): Connection {
    this.opened++;
    const connection = new Connection(this, this.#host, this.#port);
    this.#all.add(connection);
    return connection;
  }

  idle(connection: Connection): void {
    const waiter = this.#waiting.shift();
    if (waiter !== undefined) waiter(connection);
    else this.#idle.push(connection);
  }

  gone(connection: Connection): void {
    this.#all.delete(connection);
    const at = this.#idle.indexOf(connection);
    if (at >= 0) this.#idle.splice(at, 1);
    if (this.#closed) return;
    const waiter = this.#waiting.shift();
    if (waiter !== undefined) waiter(this.#open());
  }

  close(): void {
    this.#closed = true;
    for (const waiter of this.#waiting.splice(0)) waiter(abortError());
    for (const connection of [...this.#all]) connection.destroy(abortError());
  }
}
