import type { Layer } from './layer.js';
import { ownerOf, type NodeFields, type TreeNode } from './node.js';

/**
 * Changes held on top of a base layer until `apply` pushes them down in one go. Each request runs
 * in one, so a request that fails half-way changes nothing.
 */
export class Overlay implements Layer {
  readonly #base: Layer;
  readonly #changes = new Map<string, TreeNode | null>();
  readonly #owned = new Map<number, number>();
  readonly #generation: () => number;

  constructor(base: Layer, generation: () => number) {
    this.#base = base;
    this.#generation = generation;
  }

  get(path: string): TreeNode | undefined {
    const mine = this.#changes.get(path);
    if (mine !== undefined) return mine ?? undefined;
    return this.#base.get(path);
  }

  set(path: string, fields: NodeFields): void {
    const old = this.get(path);
    const owner = ownerOf(fields);
    if (!old) this.#count(owner, 1);
    else if (ownerOf(old) !== owner) {
      this.#count(ownerOf(old), -1);
      this.#count(owner, 1);
    }
    this.#changes.set(path, { value: fields.value, perms: fields.perms, children: fields.children, generation: this.#generation() });
  }

  delete(path: string): void {
    const old = this.get(path);
    if (!old) return;
    this.#count(ownerOf(old), -1);
    this.#changes.set(path, null);
  }

  ownedBy(domid: number): number {
    return this.#base.ownedBy(domid) + (this.#owned.get(domid) ?? 0);
  }

  /** Whether `path` was changed (written or removed) here. */
  has(path: string): boolean {
    return this.#changes.has(path);
  }

  /** Paths changed here, with their new node or null for removed. */
  changes(): ReadonlyMap<string, TreeNode | null> {
    return this.#changes;
  }

  /** Owner deltas relative to the base. */
  ownerDeltas(): ReadonlyMap<number, number> {
    return this.#owned;
  }

  get empty(): boolean {
    return this.#changes.size === 0;
  }

  /** Pushes every change into the base layer. */
  apply(): void {
    for (const [path, node] of this.#changes) {
      if (node) this.#base.set(path, node);
      else this.#base.delete(path);
    }
    this.#changes.clear();
    this.#owned.clear();
  }

  #count(domid: number, delta: number): void {
    this.#owned.set(domid, (this.#owned.get(domid) ?? 0) + delta);
  }
}
