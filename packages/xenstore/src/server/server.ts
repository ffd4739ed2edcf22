import { chmod, unlink } from 'node:fs/promises';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Permission } from '../permissions.js';
import { Core } from './core.js';
import { duplexPair } from './duplex-pair.js';
import type { ServerLimits } from './limits.js';
import type { Quotas } from './quotas.js';
import { clearStaleSocket } from './stale-socket.js';

export interface ServerOptions {
  /**
   * Keep the tree in this file: loaded at start when it exists, rewritten atomically (temporary
   * file, fsync, rename, fsync of the folder) after changes. No reply or watch event leaves the
   * server before the state it reflects is on disk, so a restart keeps every acknowledged change.
   * When a save fails the server logs it, answers the changes waiting for it and every new change
   * with EIO (reads are still answered), and retries until a save succeeds.
   */
  readonly persist?: string | undefined;
  /** Override C xenstored's default quotas for unprivileged domains. */
  readonly quotas?: Partial<Quotas>;
  /** Override the limits that apply to every connection (output queue, transaction time and snapshot size). */
  readonly limits?: Partial<ServerLimits>;
  /** A domain besides dom0 to treat as privileged (xenstored's `--priv-domid`). */
  readonly privilegedDomid?: number;
  /** Receives diagnostics: dropped connections, CONTROL print, save failures. */
  readonly log?: (message: string) => void;
  /** Monotonic milliseconds for the per-domain request-rate limit (default `performance.now`; tests pass their own). */
  readonly clock?: () => number;
}

/** Counts for monitoring and tests. */
export interface ServerStats {
  readonly connections: number;
  /** Open transactions over all connections (each holds a snapshot). */
  readonly transactions: number;
  readonly watches: number;
  readonly nodes: number;
  /** Bytes queued for all open connections (replies and events the clients have not taken). */
  readonly queuedBytes: number;
  /** The largest output queue any connection ever had. */
  readonly peakQueuedBytes: number;
  /** Watch events dropped because a connection's or its domain's queue was full (server lifetime). */
  readonly droppedWatchEvents: number;
  /** Connections closed at once because their domain had `domainConnections` open (server lifetime). */
  readonly refusedConnections: number;
  /** Times an unprivileged domain (or, with `limits.privilegedRequestRate`, a privileged connection) ran out of request credit and had its requests held (server lifetime). */
  readonly rateLimited: number;
  /** Times an unprivileged domain's connections stopped being read because together they had `domainOutputBytes` queued. */
  readonly domainOutputStalls: number;
}

/** A node as `Server.node` shows it. */
export interface NodeInfo {
  readonly value: Uint8Array;
  readonly permissions: readonly Permission[];
  readonly children: readonly string[];
  readonly generation: number;
}

/**
 * A xenstored. Unix-socket clients are privileged dom0 (relative paths resolve under
 * `/local/domain/0`); in-process clients may act as any domain (`connectAs`).
 */
export class Server {
  readonly #core: Core;
  readonly #listeners: { server: NetServer; path: string }[] = [];
  #closed = false;

  constructor(options: ServerOptions = {}) {
    this.#core = new Core(options);
  }

  /**
   * Listens on a Unix socket (a stale socket file is replaced), mode 0600 as in C xenstored since
   * every socket client is privileged dom0. May be called for several paths.
   */
  async listen(path: string): Promise<this> {
    if (this.#closed) throw new Error('server is closed');
    await clearStaleSocket(path);
    const server = createNetServer((socket) => {
      this.#core.attach(socket, 0);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#listeners.push({ server, path });
    // Every socket peer acts as privileged dom0: only the owner may connect (C xenstored: 0600),
    // whatever the umask.
    await chmod(path, 0o600);
    return this;
  }

  /** The socket paths listened on. */
  get paths(): readonly string[] {
    return this.#listeners.map((l) => l.path);
  }

  /**
   * An in-process connection acting as domain `domid`: a duplex stream to hand to `connect`.
   * Domain 0 (and `privilegedDomid`) is privileged; any other domain is unprivileged, subject to
   * permissions and quotas, resolves relative paths under `/local/domain/<domid>`, and is
   * introduced (firing `@introduceDomain`) if it was not yet.
   */
  connectAs(domid: number): Duplex {
    const [client, server] = duplexPair();
    this.attach(server, domid);
    return client;
  }

  /**
   * What an unprivileged domain holds and spends: open connections, bytes queued for them, its
   * request credit now and the requests it had answered; undefined for dom0, `privilegedDomid`
   * and domains that never connected.
   */
  domainUsage(domid: number): { connections: number; queuedBytes: number; credit: number; requests: number } | undefined {
    const u = this.#core.usage(domid);
    return u && { connections: u.connections.size, queuedBytes: u.queuedBytes, credit: u.credit, requests: u.admitted };
  }

  /**
   * Serves any duplex stream as a connection of `domid` (0 by default). An unprivileged domain
   * that already has `limits.domainConnections` open gets the stream destroyed (logged, counted
   * in `stats().refusedConnections`).
   */
  attach(stream: Duplex, domid = 0): void {
    if (this.#closed) throw new Error('server is closed');
    if (!Number.isInteger(domid) || domid < 0 || domid > 0xffff_ffff) throw new RangeError(`invalid domid ${domid}`);
    this.#core.attach(stream, domid);
  }

  /** Marks a domain introduced (as INTRODUCE does), firing `@introduceDomain`. */
  introduce(domid: number): void {
    this.#core.introduceDomain(domid, 0, 0);
  }

  /**
   * As RELEASE: closes the domain's connections, removes the nodes it owns, fires
   * `@releaseDomain`. Unknown domains are ignored.
   */
  release(domid: number): void {
    if (domid !== 0 && this.#core.domains.isIntroduced(domid)) this.#core.releaseDomain(domid);
  }

  /** Makes the next `n` TRANSACTION_END "T" requests fail with EAGAIN (for testing clients' retries). */
  failNextCommits(n: number): void {
    this.#core.injectConflicts(n);
  }

  /** A node as stored (committed state), or undefined. */
  node(path: string): NodeInfo | undefined {
    const node = this.#core.store.get(path);
    if (!node) return undefined;
    return { value: node.value, permissions: node.perms, children: node.children.toArray(), generation: node.generation };
  }

  get quotas(): Quotas {
    return this.#core.quotas;
  }

  get limits(): ServerLimits {
    return this.#core.limits;
  }

  /** Replaced node states kept for open transactions' snapshots (one shared log: memory that other clients' changes cost them). */
  get retainedPreimages(): number {
    return this.#core.store.retainedPreimages;
  }

  /** Open connections (socket and in-process). */
  get connections(): number {
    return this.#core.connections.size;
  }

  stats(): ServerStats {
    let transactions = 0;
    let watches = 0;
    for (const c of this.#core.connections) {
      transactions += c.transactions.size;
      watches += c.watches.length;
    }
    return {
      connections: this.#core.connections.size,
      transactions,
      watches,
      nodes: this.#core.store.size,
      ...this.#core.outputStats(),
      ...this.#core.domainStats(),
    };
  }

  /** Stops listening, drops every connection, waits for the tree to reach the disk. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closing = this.#listeners.map(
      ({ server }) =>
        new Promise<void>((resolve) => {
          server.close(() => {
            resolve();
          });
        }),
    );
    await this.#core.shutdown();
    await Promise.all(closing);
    for (const { path } of this.#listeners) await unlink(path).catch(() => undefined);
  }
}

/** `createServer(options).listen(path)`. */
export function createServer(options: ServerOptions = {}): Server {
  return new Server(options);
}
