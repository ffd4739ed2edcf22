import { XenstoreError } from '../errors.js';
import type { Caller } from './caller.js';
import type { Layer } from './layer.js';
import type { NodeFields, TreeNode } from './node.js';
import { Overlay } from './overlay.js';
import type { Quotas } from './quotas.js';
import type { Snapshot, Store } from './store.js';
import type { ChangeEvent } from './tree-ops.js';

const MISSING = -1;

/** Reads from the snapshot, remembering the generation of every node it hands out. */
class RecordingReader implements Layer {
  readonly #snapshot: Snapshot;
  readonly #store: Store;
  readonly #accessed: Map<string, number>;
  readonly #limit: number | undefined;

  constructor(snapshot: Snapshot, store: Store, accessed: Map<string, number>, limit: number | undefined) {
    this.#snapshot = snapshot;
    this.#store = store;
    this.#accessed = accessed;
    this.#limit = limit;
  }

  get(path: string): TreeNode | undefined {
    const node = this.#snapshot.get(path);
    if (!this.#accessed.has(path)) {
      if (this.#limit !== undefined && this.#accessed.size >= this.#limit) {
        throw new XenstoreError('ENOSPC', `transaction touched more than ${this.#limit} nodes`);
      }
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

/**
 * One open transaction. Reads see the tree as it was at TRANSACTION_START (a snapshot kept by
 * pre-images); writes stay in an overlay. Commit applies the overlay only if every node the
 * transaction touched — read, or read before being written, present or missing — still has the
 * generation it had in the snapshot (C xenstored's rule; since C reads each node before writing
 * it, that covers writes too). Otherwise EAGAIN and nothing is applied.
 */
export class Transaction {
  readonly id: number;
  readonly layer: Overlay;
  readonly #store: Store;
  readonly #snapshot: Snapshot;
  readonly #accessed = new Map<string, number>();
  readonly #events = new Map<string, ChangeEvent>();
  /** Set when a request failed in a way that leaves the transaction unusable. */
  failure: XenstoreError | undefined;
  #ended = false;

  constructor(id: number, store: Store, caller: Caller, quotas: Quotas) {
    this.id = id;
    this.#store = store;
    this.#snapshot = store.snapshot();
    const reader = new RecordingReader(this.#snapshot, store, this.#accessed, caller.privileged ? undefined : quotas.transactionNodes);
    this.layer = new Overlay(reader, () => store.nextGeneration());
  }

  /** Distinct nodes touched so far. */
  get touched(): number {
    return this.#accessed.size;
  }

  /** Queues events to fire on commit, one per path (a non-exact event wins over an exact one). */
  queue(events: readonly ChangeEvent[]): void {
    for (const event of events) {
      const prior = this.#events.get(event.path);
      if (!prior) {
        this.#events.set(event.path, event);
      } else {
        this.#events.set(event.path, {
          path: event.path,
          exact: prior.exact && event.exact,
          perms: [...prior.perms, ...event.perms],
        });
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
    return [...this.#events.values()];
  }

  /** Releases the snapshot; idempotent. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#store.release(this.#snapshot);
  }
}
