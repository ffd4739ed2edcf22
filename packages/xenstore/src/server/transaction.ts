import { XenstoreError } from '../errors.js';
import type { Permission } from '../permissions.js';
import type { Caller } from './caller.js';
import type { Layer } from './layer.js';
import type { ServerLimits } from './limits.js';
import type { NodeFields, TreeNode } from './node.js';
import { Overlay } from './overlay.js';
import type { Quotas } from './quotas.js';
import type { Snapshot, Store } from './store.js';
import type { ChangeEvent } from './tree-ops.js';

const MISSING = -1;

/** Reads from the snapshot, remembering the generation of every node it hands out. */
class RecordingReader implements Layer {
  readonly #tx: Transaction;
  readonly #snapshot: Snapshot;
  readonly #store: Store;
  readonly #accessed: Map<string, number>;

  constructor(tx: Transaction, snapshot: Snapshot, store: Store, accessed: Map<string, number>) {
    this.#tx = tx;
    this.#snapshot = snapshot;
    this.#store = store;
    this.#accessed = accessed;
  }

  get(path: string): TreeNode | undefined {
    const node = this.#snapshot.get(path);
    if (!this.#accessed.has(path)) {
      this.#tx.charge(1);
      this.#accessed.set(path, node ? node.generation : MISSING);
    }
    return node;
  }

  set(_path: string, _fields: NodeFields): void {
    throw new Error('internal: a transaction writes to its overlay, never to its snapshot');
  }

  delete(_path: string): void {
    throw new Error('internal: a transaction writes to its overlay, never to its snapshot');
  }

  ownedBy(domid: number): number {
    return this.#store.ownedBy(domid);
  }
}

/** The events of one path, merged: perms as before the transaction's first change and after its last. */
interface PendingEvent {
  readonly path: string;
  exact: boolean;
  readonly first: readonly (readonly Permission[])[];
  last: readonly (readonly Permission[])[];
}

/**
 * One open transaction. Reads see the tree as it was at TRANSACTION_START (a snapshot: the store's
 * shared log of replaced states); writes stay in an overlay. Commit applies the overlay only if every node the
 * transaction touched — read, or read before being written, present or missing — still has the
 * generation it had in the snapshot (C xenstored's rule; since C reads each node before writing
 * it, that covers writes too). Otherwise EAGAIN and nothing is applied.
 *
 * Every request costs the same however long the transaction has run: events are merged per path
 * in constant space. For unprivileged callers the `transactionNodes` quota counts distinct nodes
 * read plus every repeated write of a node (as oxenstored counts requests), so a transaction
 * cannot be stretched without limit. A transaction open longer than `transactionTimeoutMs`, or
 * whose snapshot would need more than `transactionSnapshotNodes` recorded states, is ended: its
 * requests and its commit get EAGAIN.
 */
export class Transaction {
  readonly id: number;
  readonly layer: Overlay;
  readonly #store: Store;
  readonly #snapshot: Snapshot;
  readonly #accessed = new Map<string, number>();
  readonly #events = new Map<string, PendingEvent>();
  readonly #limit: number | undefined;
  readonly #timer: NodeJS.Timeout;
  readonly #onFail: (error: XenstoreError) => void;
  #charged = 0;
  /** Set when the transaction cannot commit any more (a request failed half-way, it timed out or fell behind). */
  failure: XenstoreError | undefined;
  #ended = false;

  constructor(
    id: number,
    store: Store,
    caller: Caller,
    quotas: Quotas,
    limits: ServerLimits,
    onFail: (error: XenstoreError) => void = () => undefined,
  ) {
    this.id = id;
    this.#store = store;
    this.#onFail = onFail;
    this.#limit = caller.privileged ? undefined : quotas.transactionNodes;
    this.#snapshot = store.snapshot(limits.transactionSnapshotNodes, () => {
      this.fail(
        new XenstoreError('EAGAIN', `more than ${limits.transactionSnapshotNodes} changes elsewhere while the transaction was open`),
      );
    });
    this.#timer = setTimeout(() => {
      this.fail(new XenstoreError('EAGAIN', `transaction open longer than ${limits.transactionTimeoutMs} ms`));
    }, limits.transactionTimeoutMs);
    this.#timer.unref();
    const reader = new RecordingReader(this, this.#snapshot, store, this.#accessed);
    this.layer = new Overlay(reader, () => store.nextGeneration());
  }

  /** Distinct nodes touched so far. */
  get touched(): number {
    return this.#accessed.size;
  }

  /** Node accesses counted against the quota: distinct nodes read plus repeated writes. */
  get charged(): number {
    return this.#charged;
  }

  /** Counts `n` more accesses; ENOSPC (nothing counted) past the caller's quota. */
  charge(n: number): void {
    if (this.#limit !== undefined && this.#charged + n > this.#limit) {
      throw new XenstoreError('ENOSPC', `transaction touched more than ${this.#limit} nodes`);
    }
    this.#charged += n;
  }

  /** Counts the writes in `scratch` that rewrite a node this transaction already changed. */
  chargeRepeats(scratch: Overlay): void {
    let repeats = 0;
    for (const path of scratch.changes().keys()) if (this.layer.has(path)) repeats++;
    if (repeats > 0) this.charge(repeats);
  }

  /** Queues events to fire on commit, one per path (a non-exact event wins over an exact one). */
  queue(events: readonly ChangeEvent[]): void {
    for (const event of events) {
      const prior = this.#events.get(event.path);
      if (!prior) {
        this.#events.set(event.path, { path: event.path, exact: event.exact, first: event.perms, last: event.perms });
      } else {
        prior.exact &&= event.exact;
        prior.last = event.perms;
      }
    }
  }

  /**
   * Checks for conflicts and applies the changes to the store. Returns the events to fire.
   * Throws EAGAIN on conflict, ENOSPC when the caller's node quota would be exceeded.
   */
  commit(caller: Caller, quotas: Quotas): ChangeEvent[] {
    this.end();
    if (this.failure) throw this.failure;
    for (const [path, generation] of this.#accessed) {
      const now = this.#store.get(path);
      if ((now ? now.generation : MISSING) !== generation) {
        throw new XenstoreError('EAGAIN', `${path} changed since the transaction started`);
      }
    }
    if (!caller.privileged) {
      const delta = this.layer.ownerDeltas().get(caller.domid) ?? 0;
      if (delta > 0 && this.#store.ownedBy(caller.domid) + delta > quotas.nodes) {
        throw new XenstoreError('ENOSPC', `domain ${caller.domid} would exceed its quota of ${quotas.nodes} nodes`);
      }
    }
    for (const [path, node] of this.layer.changes()) {
      if (node) this.#store.set(path, node);
      else this.#store.delete(path);
    }
    const events: ChangeEvent[] = [];
    for (const e of this.#events.values()) {
      events.push({ path: e.path, exact: e.exact, perms: e.first === e.last ? e.first : [...e.first, ...e.last] });
    }
    return events;
  }

  /** Ends the transaction early with `error` (what its later requests and its commit get). */
  fail(error: XenstoreError): void {
    if (this.#ended) return;
    this.failure ??= error;
    this.end();
    this.#onFail(error);
  }

  /** Releases the snapshot; idempotent. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#timer);
    this.#store.release(this.#snapshot);
  }
}
