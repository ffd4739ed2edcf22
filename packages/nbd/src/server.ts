import { thrownMessage, type BlockDevice } from '@blk/core';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { BufferPool } from './buffer-pool.js';
import { Channel, ChannelClosedError } from './channel.js';
import { DEFAULT_PORT } from './constants.js';
import { DirectReads } from './direct-reads.js';
import { withDirectReads } from './direct-socket.js';
import { serverHandshake, type HandshakeContext } from './server-handshake.js';
import {
  resolveExport,
  resolveExports,
  resolveLimits,
  type NbdExport,
  type NbdServerOptions,
  type ResolvedExport,
  type ServerLimits,
} from './server-options.js';
import { ServerSession } from './server-session.js';
import { serverTls } from './tls-config.js';
import { formatUri } from './uri.js';

/** Where to listen: a Unix socket, a TCP address (host default 127.0.0.1, port default 10809), or an inherited listening fd. */
export type ListenTarget = { readonly path: string } | { readonly host?: string; readonly port?: number } | { readonly fd: number };

/** Where the server ended up listening, with the URI a client (ours or libnbd) connects to. */
export type ListenAddress = ({ readonly path: string } | { readonly host: string; readonly port: number } | { readonly fd: number }) & {
  /** `nbd://…`/`nbd+unix://…` for the default export (`nbds…` when TLS is required); undefined for an fd. */
  readonly uri: string | undefined;
};

/** How long a refused client gets to take its last reply before the connection is dropped. */
const REFUSAL_GRACE_MS = 1000;

interface Connection {
  readonly channel: Channel;
  session: ServerSession | undefined;
  /** The TCP peer's address, counted against `maxConnectionsPerPeer`; undefined for Unix sockets and stdio. */
  readonly peer: string | undefined;
}

/** Counters for monitoring and tests (server lifetime). */
export interface NbdServerStats {
  /** Connections open now. */
  readonly connections: number;
  /** Connections closed at once: over `maxConnections`, over `maxConnectionsPerPeer`, or while closing. */
  readonly refusedConnections: number;
  /** Connections closed by `idleTimeoutMs`. */
  readonly idleClosed: number;
  /** Connections dropped by `handshakeTimeoutMs`. */
  readonly handshakeTimeouts: number;
  /** Times a handshake stopped reading options until the client took its replies. */
  readonly handshakeStalls: number;
  /** The most bytes ever queued for one client during its handshake. */
  readonly peakHandshakeQueuedBytes: number;
}

/** The remote address of a TCP socket; undefined for anything else (Unix sockets, stdio). */
function tcpPeer(stream: Duplex): string | undefined {
  if (!(stream instanceof net.Socket)) return undefined;
  const address = stream.remoteAddress;
  return typeof address === 'string' && address !== '' ? address : undefined;
}

/**
 * An NBD server exporting BlockDevices. Listen on any number of sockets, or serve single
 * connections over any duplex stream (stdio mode). Devices stay open when the server closes:
 * they belong to the caller.
 */
export class NbdServer {
  readonly #context: HandshakeContext;
  readonly #exports: Map<string, ResolvedExport>;
  readonly #limits: ServerLimits;
  readonly #onError: (error: Error) => void;
  readonly #listeners = new Set<net.Server>();
  readonly #connections = new Set<Connection>();
  readonly #served = new Set<Promise<void>>();
  /** READ reply buffers shared by all connections (one thread: no locking). */
  readonly #pool = new BufferPool(64 << 20);
  readonly #perPeer = new Map<string, number>();
  #closing = false;
  #refused = 0;
  #idleClosed = 0;
  #handshakeTimeouts = 0;
  #handshakeStalls = 0;
  #peakHandshakeQueued = 0;
  #handOff: ((socket: net.Socket) => boolean) | undefined;

  constructor(options: NbdServerOptions) {
    this.#limits = resolveLimits(options.limits);
    this.#exports = resolveExports(options.exports);
    this.#context = {
      exports: this.#exports,
      tls: serverTls(options.tls),
      limits: this.#limits,
      onQueued: (bytes) => {
        if (bytes > this.#peakHandshakeQueued) this.#peakHandshakeQueued = bytes;
      },
      onStall: () => {
        this.#handshakeStalls++;
      },
    };
    this.#onError = options.onError ?? (() => undefined);
  }

  /** Adds or replaces an export; clients that already chose the old one keep it until they disconnect. */
  setExport(name: string, exp: BlockDevice | NbdExport): void {
    this.#exports.set(name, resolveExport(name, exp));
  }

  /** Removes an export from later handshakes; returns whether it existed. */
  deleteExport(name: string): boolean {
    return this.#exports.delete(name);
  }

  /** Names of the exports offered now. */
  get exportNames(): string[] {
    return [...this.#exports.keys()];
  }

  /** Connections open now (in handshake or transmission). */
  get connections(): number {
    return this.#connections.size;
  }

  stats(): NbdServerStats {
    return {
      connections: this.#connections.size,
      refusedConnections: this.#refused,
      idleClosed: this.#idleClosed,
      handshakeTimeouts: this.#handshakeTimeouts,
      handshakeStalls: this.#handshakeStalls,
      peakHandshakeQueuedBytes: this.#peakHandshakeQueued,
    };
  }

  /**
   * Decides, for each connection a listening socket accepts and before anything is read from it,
   * whether this server serves it (`handOff` returns false) or something else took it over (true):
   * typically another process serving the same exports, the socket sent along with
   * `child.send(message, socket)`, for connections spread over processes. `undefined` removes it.
   */
  setConnectionHandOff(handOff: ((socket: net.Socket) => boolean) | undefined): void {
    this.#handOff = handOff;
  }

  /** Starts listening; resolves once the socket is bound. */
  async listen(target: ListenTarget): Promise<ListenAddress> {
    if (this.#closing) throw new Error('the server is closed');
    // Paused until served here, so a connection handed off has not been read from.
    const listener = net.createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, (socket) => {
      if (!this.#closing && this.#handOff?.(socket) === true) return;
      this.#track(this.serveAccepted(socket));
    });
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      const bound = () => {
        listener.off('error', reject);
        resolve();
      };
      if ('path' in target) listener.listen({ path: target.path }, bound);
      else if ('fd' in target) listener.listen({ fd: target.fd }, bound);
      else listener.listen({ host: target.host ?? '127.0.0.1', port: target.port ?? DEFAULT_PORT }, bound);
    });
    listener.on('error', (error) => {
      this.#onError(error);
    });
    this.#listeners.add(listener);
    const secure = this.#context.tls?.mode === 'require';
    if ('fd' in target) return { fd: target.fd, uri: undefined };
    const address = listener.address();
    if (typeof address === 'string' || address === null) {
      const path = 'path' in target ? target.path : String(address);
      return { path, uri: formatUri({ path, tls: secure }) };
    }
    return { host: address.address, port: address.port, uri: formatUri({ host: address.address, port: address.port, tls: secure }) };
  }

  /**
   * Serves one client over `stream` (a socket, or stdin/stdout joined by `stdioStream()`): the
   * whole handshake and transmission. Resolves when the connection has ended; never rejects.
   */
  serve(stream: Duplex): Promise<void> {
    return this.#serve(stream, undefined);
  }

  /**
   * Serves a socket accepted elsewhere that nothing has read from yet, as `listen` serves its own
   * connections: typically one handed over from another process (`setConnectionHandOff`). Without
   * TLS the server takes the socket's connection over to read WRITE payloads straight into buffers
   * of their own; the `socket` object given is then destroyed without closing the connection, so
   * watch the server (`connections`, `close()`), not that object. Resolves when the connection has
   * ended; never rejects.
   */
  serveAccepted(socket: net.Socket): Promise<void> {
    // Without TLS, WRITE payloads are received straight into their own buffers (see DirectReads).
    const direct = this.#context.tls ? undefined : new DirectReads();
    const taken = direct && withDirectReads(socket, direct);
    if (taken) return this.#serve(taken, direct);
    socket.resume();
    return this.serve(socket);
  }

  async #serve(stream: Duplex, direct: DirectReads | undefined): Promise<void> {
    const peer = tcpPeer(stream);
    const refusal = this.#refusal(peer);
    if (refusal !== undefined) {
      this.#refused++;
      if (!this.#closing) this.#onError(new Error(refusal));
      stream.destroy();
      return;
    }
    const channel = new Channel(stream);
    direct?.attach(channel);
    const connection: Connection = { channel, session: undefined, peer };
    this.#connections.add(connection);
    if (peer !== undefined) this.#perPeer.set(peer, (this.#perPeer.get(peer) ?? 0) + 1);
    let idle: (() => void) | undefined;
    const deadline = setTimeout(() => {
      this.#handshakeTimeouts++;
      this.#onError(new Error(`NBD client did not finish the handshake within ${this.#limits.handshakeTimeoutMs} ms`));
      channel.destroy();
    }, this.#limits.handshakeTimeoutMs);
    try {
      const negotiated = await serverHandshake(channel, this.#context);
      clearTimeout(deadline);
      if (!negotiated) {
        channel.close(this.#limits.closeGraceMs);
        await channel.whenClosed();
        return;
      }
      const session = new ServerSession(channel, negotiated, this.#limits, this.#pool, this.#onError, direct);
      connection.session = session;
      idle = this.#watchIdle(channel);
      await session.run();
    } catch (e) {
      if (!(e instanceof ChannelClosedError)) this.#onError(e instanceof Error ? e : new Error(thrownMessage(e), { cause: e }));
      // A refusal may have a reply queued (ERR_TOO_BIG, the ACK before a bad STARTTLS): send it, then close.
      channel.close(REFUSAL_GRACE_MS);
      await channel.whenClosed();
    } finally {
      clearTimeout(deadline);
      idle?.();
      this.#connections.delete(connection);
      if (peer !== undefined) {
        const left = this.#perPeer.get(peer)! - 1;
        if (left === 0) this.#perPeer.delete(peer);
        else this.#perPeer.set(peer, left);
      }
    }
  }

  /** Why a new connection from `peer` must be closed at once, or undefined when it may be served. */
  #refusal(peer: string | undefined): string | undefined {
    if (this.#closing) return 'the server is closing';
    const { maxConnections, maxConnectionsPerPeer } = this.#limits;
    if (this.#connections.size >= maxConnections)
      return `NBD connection refused: ${maxConnections} connections are open (limits.maxConnections)`;
    if (peer !== undefined && (this.#perPeer.get(peer) ?? 0) >= maxConnectionsPerPeer) {
      return `NBD connection from ${peer} refused: it holds ${maxConnectionsPerPeer} connections (limits.maxConnectionsPerPeer)`;
    }
    return undefined;
  }

  /**
   * Closes the connection once no byte has moved either way for `idleTimeoutMs` (sockets only:
   * their byte counters tell). Returns the function that stops watching.
   */
  #watchIdle(channel: Channel): (() => void) | undefined {
    const limit = this.#limits.idleTimeoutMs;
    const socket = channel.stream;
    if (limit === 0 || !(socket instanceof net.Socket)) return undefined;
    let read = socket.bytesRead;
    let written = socket.bytesWritten;
    let quietSince = performance.now();
    const timer = setInterval(
      () => {
        const now = performance.now();
        if (socket.bytesRead !== read || socket.bytesWritten !== written || socket.writableLength > 0) {
          read = socket.bytesRead;
          written = socket.bytesWritten;
          quietSince = now;
          return;
        }
        if (now - quietSince < limit) return;
        clearInterval(timer);
        this.#idleClosed++;
        this.#onError(new Error(`NBD client idle for ${limit} ms (limits.idleTimeoutMs): closing the connection`));
        channel.destroy();
      },
      Math.max(1, Math.floor(limit / 4)),
    );
    timer.unref();
    return () => {
      clearInterval(timer);
    };
  }

  #track(served: Promise<void>): void {
    this.#served.add(served);
    void served.finally(() => this.#served.delete(served));
  }

  /**
   * Stops listening, answers requests that arrive from now on with ESHUTDOWN, lets requests in
   * flight finish, and closes every connection (dropping those still busy after
   * `limits.closeGraceMs`). Idempotent.
   */
  async close(): Promise<void> {
    this.#closing = true;
    const listenersClosed = [...this.#listeners].map(
      (listener) =>
        new Promise<void>((resolve) => {
          listener.close(() => {
            resolve();
          });
        }),
    );
    this.#listeners.clear();
    for (const { channel, session } of this.#connections) {
      if (session) session.shutdown();
      else channel.destroy();
    }
    const timer = setTimeout(() => {
      for (const { channel } of this.#connections) channel.destroy();
    }, this.#limits.closeGraceMs);
    await Promise.all([...listenersClosed, ...this.#served, ...[...this.#connections].map(({ channel }) => channel.whenClosed())]);
    clearTimeout(timer);
  }
}

export function createServer(options: NbdServerOptions): NbdServer {
  return new NbdServer(options);
}
