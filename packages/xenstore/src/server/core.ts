import type { Duplex } from 'node:stream';
import { XenstoreError } from '../errors.js';
import type { Frame } from '../codec/frame.js';
import { MessageType } from '../codec/message-type.js';
import { parentOf } from '../paths.js';
import { permits, type Caller } from './caller.js';
import { Domains } from './domains.js';
import { DomainUsage } from './domain-usage.js';
import { handleRequest } from './handlers.js';
import { Overlay } from './overlay.js';
import { loadTree, Persister, serializeTree } from './persistence.js';
import { resolveLimits, type ServerLimits } from './limits.js';
import { DEFAULT_QUOTAS, type Quotas } from './quotas.js';
import type { ServerCore } from './server-core.js';
import { ServerConnection, type ConnectionHost } from './server-connection.js';
import { Store } from './store.js';
import { remove, type ChangeEvent, type OpContext } from './tree-ops.js';
import { matchesChange, reportedPath, specialEventPath, type SpecialWatch } from './watch.js';

export interface CoreOptions {
  readonly persist?: string | undefined;
  readonly quotas?: Partial<Quotas> | undefined;
  readonly privilegedDomid?: number | undefined;
  readonly log?: ((message: string) => void) | undefined;
  readonly limits?: Partial<ServerLimits> | undefined;
  /** Monotonic milliseconds for the request-rate limit (default `performance.now`). */
  readonly clock?: (() => number) | undefined;
}

/** Replies that acknowledge a change: while saving fails they become EIO (see `Core`). */
const CHANGING_TYPES: ReadonlySet<number> = new Set([
  MessageType.WRITE,
  MessageType.MKDIR,
  MessageType.RM,
  MessageType.SET_PERMS,
  MessageType.TRANSACTION_END,
  MessageType.INTRODUCE,
  MessageType.RELEASE,
  MessageType.SET_TARGET,
]);

/** The server's state and behaviour, apart from sockets: tree, domains, connections, watches, persistence. */
export class Core implements ServerCore, ConnectionHost {
  readonly store: Store;
  readonly domains = new Domains();
  quotas: Quotas;
  logging = true;
  readonly connections = new Set<ServerConnection>();
  readonly limits: ServerLimits;
  /** Counters of connections already closed, so `stats` covers the server's whole life. */
  #closedDropped = 0;
  #closedPeak = 0;
  /** Per unprivileged domain: connections, queued bytes, request credit. Kept until the domain is released. */
  readonly #usage = new Map<number, DomainUsage<ServerConnection>>();
  /** Per privileged connection, when `limits.privilegedRequestRate` is finite: its own request credit. */
  readonly #privilegedCredit = new Map<ServerConnection, DomainUsage<ServerConnection>>();
  #closedPrivilegedThrottled = 0;
  readonly #clock: () => number;
  #refusedConnections = 0;
  /** Counters of released domains' usage, so `domainStats` covers the server's whole life. */
  #releasedThrottled = 0;
  #releasedStalls = 0;
  /** Set while the last save failed: changes are refused with EIO until a save succeeds. */
  #saveFailure: Error | undefined;
  readonly #privilegedDomid: number;
  readonly #log: ((message: string) => void) | undefined;
  readonly #persister: Persister | undefined;
  #injectedConflicts = 0;

  constructor(options: CoreOptions) {
    this.quotas = Object.freeze({ ...DEFAULT_QUOTAS, ...options.quotas });
    this.limits = resolveLimits(options.limits);
    this.#privilegedDomid = options.privilegedDomid ?? 0;
    this.#clock = options.clock ?? (() => performance.now());
    this.#log = options.log;
    const file = options.persist;
    const saved = file === undefined ? undefined : loadTree(file);
    if (saved) {
      const store = new Store(() => {
        this.#changed();
      });
      for (const [path, node] of saved.nodes) store.set(path, node);
      this.store = store;
      this.domains.setSpecialPerms('@introduceDomain', saved.special['@introduceDomain']);
      this.domains.setSpecialPerms('@releaseDomain', saved.special['@releaseDomain']);
    } else {
      this.store = Store.seeded(() => {
        this.#changed();
      });
    }
    if (file !== undefined) {
      this.#persister = new Persister(
        file,
        this.store.version,
        () => ({ version: this.store.version, text: this.#serialize() }),
        () => {
          if (this.#saveFailure) {
            this.#saveFailure = undefined;
            this.log(`saving ${file} works again; accepting changes`);
          }
          for (const c of this.connections) c.release();
        },
        (error) => {
          const first = this.#saveFailure === undefined;
          this.#saveFailure = error;
          this.log(`saving ${file} failed: ${error.message}${first ? '; answering changes with EIO until a save succeeds' : ''}`);
          // Nothing may wait for a durability that is not coming: what waits goes out now, the
          // acknowledgements of unsaved changes as EIO.
          if (first) for (const c of this.connections) c.releaseAll(CHANGING_TYPES);
        },
      );
    }
  }

  // ---- ConnectionHost

  dispatch(connection: ServerConnection, frame: Frame): void {
    handleRequest(this, connection, frame);
  }

  closed(connection: ServerConnection, _reason: string): void {
    if (this.connections.delete(connection)) {
      this.#closedDropped += connection.droppedEvents;
      this.#closedPeak = Math.max(this.#closedPeak, connection.peakQueuedBytes);
    }
    const usage = this.#usage.get(connection.domid);
    if (usage?.connections.delete(connection)) usage.drained();
    const own = this.#privilegedCredit.get(connection);
    if (own) {
      own.dispose();
      this.#closedPrivilegedThrottled += own.throttled;
      this.#privilegedCredit.delete(connection);
    }
  }

  admit(connection: ServerConnection): boolean {
    return (this.#usageOf(connection) ?? this.#privilegedCredit.get(connection))?.admit() ?? true;
  }

  eventRoom(connection: ServerConnection, size: number): boolean {
    return this.#usageOf(connection)?.hasRoom(size) ?? true;
  }

  drained(connection: ServerConnection): void {
    this.#usageOf(connection)?.drained();
  }

  /** The domain-wide counters (server lifetime). */
  domainStats(): { refusedConnections: number; rateLimited: number; domainOutputStalls: number } {
    let rateLimited = this.#releasedThrottled + this.#closedPrivilegedThrottled;
    for (const u of this.#privilegedCredit.values()) rateLimited += u.throttled;
    let domainOutputStalls = this.#releasedStalls;
    for (const u of this.#usage.values()) {
      rateLimited += u.throttled;
      domainOutputStalls += u.outputStalls;
    }
    return { refusedConnections: this.#refusedConnections, rateLimited, domainOutputStalls };
  }

  /** The usage record of an unprivileged domain (undefined for dom0 and `privilegedDomid`). */
  usage(domid: number): DomainUsage<ServerConnection> | undefined {
    return this.#usage.get(domid);
  }

  #usageOf(connection: ServerConnection): DomainUsage<ServerConnection> | undefined {
    return this.#usage.get(connection.domid);
  }

  #isPrivileged(domid: number): boolean {
    return domid === 0 || domid === this.#privilegedDomid;
  }

  /** Dropped watch events and the largest output queue over every connection, open or closed. */
  outputStats(): { queuedBytes: number; peakQueuedBytes: number; droppedWatchEvents: number } {
    let queuedBytes = 0;
    let peakQueuedBytes = this.#closedPeak;
    let droppedWatchEvents = this.#closedDropped;
    for (const c of this.connections) {
      queuedBytes += c.queuedBytes;
      peakQueuedBytes = Math.max(peakQueuedBytes, c.peakQueuedBytes);
      droppedWatchEvents += c.droppedEvents;
    }
    return { queuedBytes, peakQueuedBytes, droppedWatchEvents };
  }

  /** EIO while saving fails, so no change is acknowledged that the disk does not have. */
  assertWritable(): void {
    if (this.#saveFailure) {
      throw new XenstoreError('EIO', `changes are refused while saving fails: ${this.#saveFailure.message}`);
    }
  }

  caller(connection: ServerConnection): Caller {
    const { domid } = connection;
    return { domid, privileged: domid === 0 || domid === this.#privilegedDomid, target: this.domains.targetOf(domid) };
  }

  barrier(): number {
    return this.#persister && !this.#saveFailure ? this.store.version : 0;
  }

  isDurable(version: number): boolean {
    return !this.#persister || this.#saveFailure !== undefined || this.#persister.durable >= version;
  }

  // ---- ServerCore

  fire(events: readonly ChangeEvent[]): void {
    if (events.length === 0) return;
    for (const connection of this.connections) {
      if (connection.watches.length === 0) continue;
      for (const event of events) this.#fireOn(connection, event);
    }
  }

  watchCount(domid: number): number {
    let n = 0;
    for (const c of this.#connectionsOf(domid)) n += c.watches.length;
    return n;
  }

  transactionCount(domid: number): number {
    let n = 0;
    for (const c of this.#connectionsOf(domid)) n += c.transactions.size;
    return n;
  }

  /** A domain's connections: at most `domainConnections` for an unprivileged one, found without scanning the others. */
  *#connectionsOf(domid: number): Iterable<ServerConnection> {
    const usage = this.#usage.get(domid);
    for (const c of usage ? usage.connections : this.connections) if (c.domid === domid) yield c;
  }

  introduceDomain(domid: number, gfn: number, eventChannel: number): void {
    if (domid === 0 || !this.domains.introduce(domid, gfn, eventChannel)) return;
    this.#fireSpecial('@introduceDomain', domid);
  }

  releaseDomain(domid: number): void {
    for (const c of [...this.connections]) if (c.domid === domid) c.close(`domain ${domid} released`);
    const usage = this.#usage.get(domid);
    if (usage) {
      usage.dispose();
      this.#releasedThrottled += usage.throttled;
      this.#releasedStalls += usage.outputStalls;
      this.#usage.delete(domid);
    }
    // Nodes the domain owns go with it, subtrees included (C xenstored without --keep-orphans).
    const owned: string[] = [];
    const skip: string[] = [];
    for (const [path, node] of this.store.walk()) {
      if (skip.some((s) => path.startsWith(`${s}/`))) continue;
      if (path !== '/' && node.perms[0]!.domid === domid) {
        owned.push(path);
        skip.push(path);
      }
    }
    for (const path of owned) {
      if (!this.store.get(path)) continue;
      const scratch = new Overlay(this.store, () => this.store.nextGeneration());
      const op: OpContext = { layer: scratch, caller: { domid: 0, privileged: true, target: undefined }, quotas: this.quotas, events: [] };
      remove(op, path);
      scratch.apply();
      this.fire(op.events);
    }
    this.domains.release(domid, this.#privilegedDomid);
    for (const c of this.connections) c.invalidateCaller();
    this.store.touch();
    this.#fireSpecial('@releaseDomain', domid);
  }

  setTarget(domid: number, target: number): void {
    this.domains.setTarget(domid, target);
    for (const c of this.connections) c.invalidateCaller();
  }

  changedSpecial(): void {
    this.store.touch();
  }

  takeInjectedConflict(): boolean {
    if (this.#injectedConflicts === 0) return false;
    this.#injectedConflicts--;
    return true;
  }

  injectConflicts(n: number): void {
    this.#injectedConflicts += n;
  }

  setQuota(key: keyof Quotas, value: number): void {
    this.quotas = Object.freeze({ ...this.quotas, [key]: value });
  }

  log(message: string): void {
    if (this.logging) this.#log?.(message);
  }

  // ---- connections and shutdown

  /** Serves `stream` as a connection of `domid`; undefined (stream destroyed, logged) past `domainConnections`. */
  attach(stream: Duplex, domid: number): ServerConnection | undefined {
    let usage: DomainUsage<ServerConnection> | undefined;
    if (!this.#isPrivileged(domid)) {
      this.introduceDomain(domid, 0, 0);
      usage = this.#usage.get(domid);
      if (!usage)
        this.#usage.set(
          domid,
          (usage = new DomainUsage(domid, this.limits, this.#clock, (m) => {
            this.log(m);
          })),
        );
      if (usage.connections.size >= this.limits.domainConnections) {
        this.#refusedConnections++;
        this.log(`domain ${domid} already has ${usage.connections.size} connections (limit domainConnections): closing the new one`);
        stream.destroy();
        return undefined;
      }
    }
    const connection = new ServerConnection(stream, domid, this);
    this.connections.add(connection);
    usage?.connections.add(connection);
    if (!usage && Number.isFinite(this.limits.privilegedRequestRate)) {
      const own = new DomainUsage<ServerConnection>(
        domid,
        { ...this.limits, domainRequestRate: this.limits.privilegedRequestRate, domainOutputBytes: Infinity },
        this.#clock,
        (m) => {
          this.log(m);
        },
        `connection ${connection.id} (domain ${domid})`,
      );
      own.connections.add(connection);
      this.#privilegedCredit.set(connection, own);
    }
    return connection;
  }

  /** Closes every connection and waits for the tree to be on disk. */
  async shutdown(): Promise<void> {
    for (const c of [...this.connections]) c.close('server closing');
    await this.#persister?.stop();
    if (this.#persister && this.#persister.durable < this.store.version) {
      this.log(`closing with changes not saved to ${this.#persister.file}`);
    }
  }

  #changed(): void {
    this.#persister?.request(this.store.version);
  }

  #serialize(): string {
    return serializeTree({
      nodes: [...this.store.walk()],
      special: {
        '@introduceDomain': this.domains.specialPerms('@introduceDomain'),
        '@releaseDomain': this.domains.specialPerms('@releaseDomain'),
      },
    });
  }

  #fireOn(connection: ServerConnection, event: ChangeEvent): void {
    let allowed: boolean | undefined;
    for (const watch of connection.watches) {
      if (!matchesChange(watch, event.path, event.exact)) continue;
      allowed ??= this.#mayHear(connection.caller, event);
      if (!allowed) return;
      connection.sendEvent(watch, reportedPath(watch, event.path));
    }
  }

  /** C's `watch_permitted`: the node (before or after the change) or its parent must be readable. */
  #mayHear(caller: Caller, event: ChangeEvent): boolean {
    if (caller.privileged) return true;
    if (event.perms.some((perms) => permits(caller, perms, 'read'))) return true;
    const parent = event.path === '/' ? undefined : this.store.get(parentOf(event.path));
    return parent !== undefined && permits(caller, parent.perms, 'read');
  }

  #fireSpecial(name: SpecialWatch, domid: number): void {
    const perms = this.domains.specialPerms(name);
    for (const connection of this.connections) {
      if (connection.watches.length === 0) continue;
      if (!permits(connection.caller, perms, 'read')) continue;
      for (const watch of connection.watches) {
        const path = specialEventPath(watch, name, domid);
        if (path === undefined) continue;
        connection.sendEvent(watch, path);
      }
    }
  }
}
