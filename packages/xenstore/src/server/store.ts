import type { Permission } from '../permissions.js';
import { ChildList } from './child-list.js';
import type { Layer } from './layer.js';
import { ownerOf, type NodeFields, type TreeNode } from './node.js';

/** What the tree looked like when a transaction started, kept cheaply: only changed paths are copied. */
export class Snapshot {
  readonly #store: Store;
  /** path → node (or undefined) as it was at the snapshot, for paths changed since. */
  readonly preimage = new Map<string, TreeNode | undefined>();
  /** Most pre-images kept; one more and the store lets the snapshot go and calls `overflow`. */
  readonly limit: number;
  readonly overflow: () => void;

  constructor(store: Store, limit: number, overflow: () => void) {
    this.#store = store;
    this.limit = limit;
    this.overflow = overflow;
  }

  get(path: string): TreeNode | undefined {
    return this.preimage.has(path) ? this.preimage.get(path) : this.#store.get(path);
  }
}

const ROOT_PERMS: readonly Permission[] = [{ domid: 0, access: 'n' }];
const EMPTY = new Uint8Array(0);

/** The committed tree: a flat map from absolute path to node, with generation and ownership counts. */
export class Store implements Layer {
  readonly #nodes = new Map<string, TreeNode>();
  readonly #owned = new Map<number, number>();
  readonly #snapshots = new Set<Snapshot>();
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

  set(path: string, fields: NodeFields): void {
    const old = this.#nodes.get(path);
    this.#capture(path, old);
    const node: TreeNode = { value: fields.value, perms: fields.perms, children: fields.children, generation: this.nextGeneration() };
    this.#nodes.set(path, node);
    if (old) this.#count(ownerOf(old), -1);
    this.#count(ownerOf(node), 1);
    this.#changed();
  }

  delete(path: string): void {
    const old = this.#nodes.get(path);
    if (!old) return;
    this.#capture(path, old);
    this.#nodes.delete(path);
    this.#count(ownerOf(old), -1);
    this.#changed();
  }

  ownedBy(domid: number): number {
    return this.#owned.get(domid) ?? 0;
  }

  /**
   * Starts keeping pre-images for a transaction; `release` it when the transaction ends. Past
   * `limit` pre-images the snapshot is released and `overflow` called: the memory an idle
   * transaction holds stays bounded however much changes elsewhere.
   */
  snapshot(limit = Infinity, overflow: () => void = () => undefined): Snapshot {
    const snapshot = new Snapshot(this, limit, overflow);
    this.#snapshots.add(snapshot);
    return snapshot;
  }

  release(snapshot: Snapshot): void {
    this.#snapshots.delete(snapshot);
  }

  get openSnapshots(): number {
    return this.#snapshots.size;
  }

  /** Pre-images kept over all open snapshots. */
  get retainedPreimages(): number {
    let n = 0;
    for (const s of this.#snapshots) n += s.preimage.size;
    return n;
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

  #capture(path: string, old: TreeNode | undefined): void {
    let full: Snapshot[] | undefined;
    for (const snapshot of this.#snapshots) {
      if (snapshot.preimage.has(path)) continue;
      if (snapshot.preimage.size >= snapshot.limit) (full ??= []).push(snapshot);
      else snapshot.preimage.set(path, old);
    }
    if (full) {
      for (const snapshot of full) {
        this.#snapshots.delete(snapshot);
        snapshot.preimage.clear();
        snapshot.overflow();
      }
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
