import type { Permission } from '../permissions.js';
import { ChildList } from './child-list.js';
import type { Layer } from './layer.js';
import { ownerOf, type NodeFields, type TreeNode } from './node.js';

/** One state of a path that an open snapshot may still need: the node (or its absence) it held until generation `until`. */
interface Version {
  readonly until: number;
  readonly node: TreeNode | undefined;
}

/** The recorded states of one path, oldest first; `head` skips those no snapshot needs any more. */
interface Chain {
  readonly versions: Version[];
  head: number;
}

/**
 * What the tree looked like when a transaction started. Costs nothing to take: the store keeps
 * one shared log of replaced states while snapshots are open, and a snapshot reads the state
 * that was current at its start generation from it.
 */
export class Snapshot {
  readonly #store: Store;
  /** Store generation when taken: the snapshot sees every change up to it and none after. */
  readonly start: number;
  /** The store's log position when taken: changes recorded since are `store.recorded - logStart`. */
  readonly logStart: number;
  /** Most changes it may have to remember; one more and the store lets it go and calls `overflow`. */
  readonly limit: number;
  readonly overflow: () => void;

  constructor(store: Store, start: number, logStart: number, limit: number, overflow: () => void) {
    this.#store = store;
    this.start = start;
    this.logStart = logStart;
    this.limit = limit;
    this.overflow = overflow;
  }

  get(path: string): TreeNode | undefined {
    return this.#store.getAt(path, this.start);
  }
}

const ROOT_PERMS: readonly Permission[] = [{ domid: 0, access: 'n' }];
const EMPTY = new Uint8Array(0);

/** The committed tree: a flat map from absolute path to node, with generation and ownership counts. */
export class Store implements Layer {
  readonly #nodes = new Map<string, TreeNode>();
  readonly #owned = new Map<number, number>();
  /** Open snapshots, oldest first (they are taken in generation order). */
  readonly #snapshots = new Set<Snapshot>();
  /** Replaced states open snapshots may need, per path, and the same in the order recorded. */
  readonly #chains = new Map<string, Chain>();
  #log: { path: string; until: number }[] = [];
  #logHead = 0;
  /** States recorded over the store's life: positions in the log. */
  #recorded = 0;
  /** Start of the newest snapshot taken (stays when it is released: at worst a state is kept that nobody needs, until pruned). */
  #newestStart = -1;
  #generation = 0;
  /** Bumped on every change; persistence saves up to a version. */
  #version = 0;
  readonly #onChange: (() => void) | undefined;

  constructor(onChange?: () => void) {
    this.#onChange = onChange;
  }

  /** C xenstored's boot tree: `/`, `/tool`, `/tool/xenstored`, all `n0`, empty. */
  static seeded(onChange?: () => void): Store {
    const store = new Store(onChange);
    store.set('/', { value: EMPTY, perms: ROOT_PERMS, children: ChildList.of(['tool']) });
    store.set('/tool', { value: EMPTY, perms: ROOT_PERMS, children: ChildList.of(['xenstored']) });
    store.set('/tool/xenstored', { value: EMPTY, perms: ROOT_PERMS, children: ChildList.EMPTY });
    return store;
  }

  /** Records a change kept outside the nodes (the special watch permissions). */
  touch(): void {
    this.#changed();
  }

  get version(): number {
    return this.#version;
  }

  get size(): number {
    return this.#nodes.size;
  }

  nextGeneration(): number {
    return ++this.#generation;
  }

  get(path: string): TreeNode | undefined {
    return this.#nodes.get(path);
  }

  /**
   * The node at `path` as it was at generation `at` (a snapshot's start): the first recorded state
   * replaced after `at`, or the current node when none was. O(log states of the path).
   */
  getAt(path: string, at: number): TreeNode | undefined {
    const chain = this.#chains.get(path);
    if (chain) {
      const { versions } = chain;
      let lo = chain.head;
      let hi = versions.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (versions[mid]!.until > at) hi = mid;
        else lo = mid + 1;
      }
      if (lo < versions.length) return versions[lo]!.node;
    }
    return this.#nodes.get(path);
  }

  set(path: string, fields: NodeFields): void {
    const old = this.#nodes.get(path);
    const generation = this.nextGeneration();
    this.#record(path, old, generation);
    const node: TreeNode = { value: fields.value, perms: fields.perms, children: fields.children, generation };
    this.#nodes.set(path, node);
    if (old) this.#count(ownerOf(old), -1);
    this.#count(ownerOf(node), 1);
    this.#changed();
  }

  delete(path: string): void {
    const old = this.#nodes.get(path);
    if (!old) return;
    this.#record(path, old, this.nextGeneration());
    this.#nodes.delete(path);
    this.#count(ownerOf(old), -1);
    this.#changed();
  }

  ownedBy(domid: number): number {
    return this.#owned.get(domid) ?? 0;
  }

  /**
   * A view of the tree as it is now, for a transaction; `release` it when the transaction ends.
   * Once more than `limit` states were recorded since it was taken, the snapshot is released and
   * `overflow` called (the oldest snapshots are checked first): the memory an idle transaction
   * holds stays bounded however much changes elsewhere. Taking one costs O(1), and so does every
   * change however many are open.
   */
  snapshot(limit = Infinity, overflow: () => void = () => undefined): Snapshot {
    const snapshot = new Snapshot(this, this.#generation, this.#recorded, limit, overflow);
    this.#snapshots.add(snapshot);
    this.#newestStart = snapshot.start;
    return snapshot;
  }

  release(snapshot: Snapshot): void {
    if (this.#snapshots.delete(snapshot)) this.#prune();
  }

  get openSnapshots(): number {
    return this.#snapshots.size;
  }

  /** Replaced states kept for open snapshots (one shared log, whatever their number). */
  get retainedPreimages(): number {
    return this.#log.length - this.#logHead;
  }

  /** Every path in depth-first pre-order, children in their listed order. */
  *walk(from = '/'): Generator<[string, TreeNode]> {
    const stack = [from];
    while (stack.length > 0) {
      const path = stack.pop()!;
      const node = this.#nodes.get(path);
      if (!node) continue;
      yield [path, node];
      for (let i = node.children.length - 1; i >= 0; i--) {
        const name = node.children.at(i)!;
        stack.push(path === '/' ? `/${name}` : `${path}/${name}`);
      }
    }
  }

  /**
   * Keeps the state `path` had before generation `until` if an open snapshot may read it: O(1)
   * however many snapshots are open. A present node is needed only if it was current when the
   * newest snapshot started; an absent one is always kept (when it went is not tracked).
   */
  #record(path: string, old: TreeNode | undefined, until: number): void {
    if (this.#snapshots.size === 0) return;
    if (old && old.generation > this.#newestStart) return;
    let chain = this.#chains.get(path);
    if (!chain) this.#chains.set(path, (chain = { versions: [], head: 0 }));
    chain.versions.push({ until, node: old });
    this.#log.push({ path, until });
    this.#recorded++;
    // The oldest snapshots have the most to remember: let go of those past their limit.
    let failed = false;
    for (const snapshot of this.#snapshots) {
      if (this.#recorded - snapshot.logStart <= snapshot.limit) break;
      this.#snapshots.delete(snapshot);
      snapshot.overflow();
      failed = true;
    }
    if (failed) this.#prune();
  }

  /** Drops the states no open snapshot can read: those replaced before the oldest one started. */
  #prune(): void {
    const oldest = this.#snapshots.values().next().value;
    const horizon = oldest ? oldest.start : Infinity;
    const log = this.#log;
    let head = this.#logHead;
    while (head < log.length && log[head]!.until <= horizon) {
      const { path } = log[head]!;
      const chain = this.#chains.get(path)!;
      chain.head++;
      if (chain.head === chain.versions.length) this.#chains.delete(path);
      else if (chain.head > 32 && chain.head * 2 > chain.versions.length) {
        chain.versions.splice(0, chain.head);
        chain.head = 0;
      }
      head++;
    }
    if (head === log.length) {
      this.#log = [];
      this.#logHead = 0;
    } else if (head > 1024 && head * 2 > log.length) {
      this.#log = log.slice(head);
      this.#logHead = 0;
    } else {
      this.#logHead = head;
    }
  }

  #count(domid: number, delta: number): void {
    const n = (this.#owned.get(domid) ?? 0) + delta;
    if (n === 0) this.#owned.delete(domid);
    else this.#owned.set(domid, n);
  }

  #changed(): void {
    this.#version++;
    this.#onChange?.();
  }
}
