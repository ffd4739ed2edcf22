import { settled } from '@blk/core';
import { isNotYet, type XenbusHandle, type XenbusStore } from './xenbus-store.js';

interface Node {
  value: string;
  generation: number;
}

type Tree = Map<string, Node>;

type Mutation =
  { readonly op: 'write'; readonly path: string; readonly value: string } | { readonly op: 'rm' | 'mkdir'; readonly path: string };

function storeError(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

function checkPath(path: string): void {
  if (
    typeof path !== 'string' ||
    !path.startsWith('/') ||
    (path.length > 1 && path.endsWith('/')) ||
    path.includes('//') ||
    !/^[A-Za-z0-9\-/_@]+$/.test(path)
  ) {
    throw storeError('EINVAL', `invalid path ${JSON.stringify(path)}`);
  }
}

function parentOf(path: string): string {
  const cut = path.lastIndexOf('/');
  return cut <= 0 ? '/' : path.slice(0, cut);
}

/** `a` is `b` or below it. */
function within(a: string, b: string): boolean {
  return a === b || b === '/' || a.startsWith(`${b}/`);
}

function childrenOf(tree: Tree, path: string): string[] {
  const prefix = path === '/' ? '/' : `${path}/`;
  const names: string[] = [];
  for (const key of tree.keys()) {
    if (key !== path && key.startsWith(prefix) && !key.slice(prefix.length).includes('/')) names.push(key.slice(prefix.length));
  }
  return names.sort();
}

/**
 * Applies one mutation to `tree`, returning the paths it changed. Writes and mkdir create missing
 * ancestors (as xenstored does); rm removes the subtree, is a no-op for a missing node
 * and fails ENOENT when its parent is missing too.
 */
function apply(tree: Tree, mutation: Mutation, nextGeneration: () => number): string[] {
  const { path } = mutation;
  if (mutation.op === 'rm') {
    if (path === '/') throw storeError('EINVAL', 'cannot remove /');
    if (!tree.has(path)) {
      if (!tree.has(parentOf(path))) throw storeError('ENOENT', `neither ${path} nor its parent exists`);
      return [];
    }
    for (const key of [...tree.keys()]) if (within(key, path)) tree.delete(key);
    return [path];
  }
  const changed: string[] = [];
  const missing: string[] = [];
  for (let p = path; !tree.has(p); p = parentOf(p)) missing.push(p);
  for (const p of missing.reverse()) {
    tree.set(p, { value: '', generation: nextGeneration() });
    changed.push(p);
  }
  if (mutation.op === 'write') {
    tree.set(path, { value: mutation.value, generation: nextGeneration() });
    if (!changed.includes(path)) changed.push(path);
  }
  return changed;
}

/** A handle onto a tree: direct (immediate), or a transaction's snapshot that logs its changes. */
class MemoryHandle implements XenbusHandle {
  readonly #tree: Tree;
  readonly #onRead: (path: string, node: Node | undefined) => void;
  readonly #onMutate: (mutation: Mutation) => void;
  readonly #generation: () => number;

  constructor(
    tree: Tree,
    onRead: (path: string, node: Node | undefined) => void,
    onMutate: (m: Mutation) => void,
    generation: () => number,
  ) {
    this.#tree = tree;
    this.#onRead = onRead;
    this.#onMutate = onMutate;
    this.#generation = generation;
  }

  read(path: string): Promise<string> {
    return this.#run(() => {
      checkPath(path);
      const node = this.#tree.get(path);
      this.#onRead(path, node);
      if (!node) throw storeError('ENOENT', path);
      return node.value;
    });
  }

  directory(path: string): Promise<string[]> {
    return this.#run(() => {
      checkPath(path);
      const node = this.#tree.get(path);
      this.#onRead(path, node);
      if (!node) throw storeError('ENOENT', path);
      return childrenOf(this.#tree, path);
    });
  }

  write(path: string, value: string): Promise<void> {
    return this.#mutate({ op: 'write', path, value });
  }

  rm(path: string): Promise<void> {
    return this.#mutate({ op: 'rm', path });
  }

  mkdir(path: string): Promise<void> {
    return this.#mutate({ op: 'mkdir', path });
  }

  setperms(path: string, _permissions: readonly string[]): Promise<void> {
    return this.#run(() => {
      checkPath(path);
      if (!this.#tree.has(path)) throw storeError('ENOENT', path);
    });
  }

  getdomainpath(domid: number): Promise<string> {
    return this.#run(() => {
      if (!Number.isInteger(domid) || domid < 0) throw storeError('EINVAL', `invalid domid ${domid}`);
      return `/local/domain/${domid}`;
    });
  }

  #mutate(mutation: Mutation): Promise<void> {
    return this.#run(() => {
      checkPath(mutation.path);
      apply(this.#tree, mutation, this.#generation);
      this.#onMutate(mutation);
    });
  }

  #run<T>(work: () => T): Promise<Awaited<T>> {
    return settled(work);
  }
}

export interface MemoryXenbusStoreOptions {
  /** Attempts of a conflicting transaction before it fails with EAGAIN (default 100). */
  readonly maxAttempts?: number;
}

/**
 * An in-memory xenstore for one process: the tree, transactions with snapshot reads and
 * xenstored's conflict rule (a node read in the transaction changed meanwhile ⇒ EAGAIN, retried),
 * and `wait` re-running its callback when a path it read (or anything below it) changes. No
 * permissions or quotas. `connectWorker` uses one when it is not given a store.
 */
export class MemoryXenbusStore implements XenbusStore {
  readonly #tree: Tree = new Map([['/', { value: '', generation: 0 }]]);
  readonly #listeners = new Set<(paths: readonly string[]) => void>();
  readonly #maxAttempts: number;
  #generation = 0;
  #conflictsToInject = 0;

  constructor(options: MemoryXenbusStoreOptions = {}) {
    this.#maxAttempts = options.maxAttempts ?? 100;
  }

  #nextGeneration = (): number => ++this.#generation;

  #publish(paths: readonly string[]): void {
    if (paths.length === 0) return;
    for (const listener of [...this.#listeners]) listener(paths);
  }

  immediate<T>(fn: (h: XenbusHandle) => Promise<T>): Promise<T> {
    return fn(this.#direct(() => undefined));
  }

  #direct(onRead: (path: string) => void): XenbusHandle {
    return new MemoryHandle(
      this.#tree,
      onRead,
      (m) => {
        this.#publish([m.path]);
      },
      this.#nextGeneration,
    );
  }

  async transaction<T>(fn: (h: XenbusHandle) => Promise<T>): Promise<T> {
    for (let attempt = 0; attempt < this.#maxAttempts; attempt++) {
      const snapshot: Tree = new Map();
      for (const [path, node] of this.#tree) snapshot.set(path, { ...node });
      const reads = new Map<string, number>();
      const log: Mutation[] = [];
      const handle = new MemoryHandle(
        snapshot,
        (path, node) => {
          if (!reads.has(path)) reads.set(path, node?.generation ?? -1);
        },
        (m) => log.push(m),
        this.#nextGeneration,
      );
      const result = await fn(handle);
      let conflict = this.#conflictsToInject > 0;
      if (conflict) this.#conflictsToInject--;
      for (const [path, generation] of reads) {
        if ((this.#tree.get(path)?.generation ?? -1) !== generation) conflict = true;
      }
      if (conflict) continue;
      const changed: string[] = [];
      for (const m of log) changed.push(...apply(this.#tree, m, this.#nextGeneration));
      this.#publish(changed.length > 0 ? changed : log.map((m) => m.path));
      return result;
    }
    throw storeError('EAGAIN', `transaction still conflicting after ${this.#maxAttempts} attempts`);
  }

  async wait<T>(fn: (h: XenbusHandle) => Promise<T>, options: { signal?: AbortSignal } = {}): Promise<T> {
    const { signal } = options;
    // Shared with the listener, which runs between the awaits below.
    const state: { touched: Set<string>; dirty: boolean; wake: (() => void) | undefined } = {
      touched: new Set(),
      dirty: false,
      wake: undefined,
    };
    const listener = (paths: readonly string[]) => {
      for (const changed of paths) {
        for (const path of state.touched) {
          if (within(path, changed) || within(changed, path)) {
            state.dirty = true;
            state.wake?.();
            return;
          }
        }
      }
    };
    const onAbort = () => state.wake?.();
    const isDirty = () => state.dirty;
    this.#listeners.add(listener);
    signal?.addEventListener('abort', onAbort);
    try {
      for (;;) {
        signal?.throwIfAborted();
        state.dirty = false;
        const reads = new Set<string>();
        state.touched = reads;
        try {
          return await fn(this.#direct((path) => reads.add(path)));
        } catch (error) {
          if (!isNotYet(error)) throw error;
        }
        // A change may have come in while `fn` ran (the listener sets dirty between awaits).
        if (!isDirty()) {
          await new Promise<void>((resolve) => {
            state.wake = resolve;
            if (signal?.aborted) resolve();
          });
          state.wake = undefined;
        }
      }
    } finally {
      this.#listeners.delete(listener);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Makes the next `n` transaction commits conflict (for testing retries). */
  failNextCommits(n: number): void {
    this.#conflictsToInject += n;
  }

  /** The committed tree as path → value, for inspection in tests and tools. */
  dump(prefix = '/'): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [path, node] of this.#tree) if (within(path, prefix)) out[path] = node.value;
    return out;
  }
}
