/**
 * The child names of one node, in creation order. Immutable to whoever holds it (transactions'
 * snapshots keep old versions), yet adding a child costs O(1): versions share one backing array
 * that is only ever appended to, each version seeing its own prefix. Only appending to a version
 * that is no longer the newest (two writers appending to the same parent version, e.g. a
 * transaction and the store) copies the prefix once, after which appends are O(1) again.
 * Removing a child copies the list (O(siblings), as C xenstored's memmove of the children string).
 */
export class ChildList implements Iterable<string> {
  static readonly EMPTY = new ChildList([], 0, 0);

  readonly #names: string[];
  /** Names in this version. */
  readonly length: number;
  /** Bytes of the names with one NUL each: what DIRECTORY sends and C's record size counts. */
  readonly bytes: number;

  private constructor(names: string[], length: number, bytes: number) {
    this.#names = names;
    this.length = length;
    this.bytes = bytes;
  }

  static of(names: Iterable<string>): ChildList {
    const copy = [...names];
    let bytes = 0;
    for (const name of copy) bytes += name.length + 1;
    return copy.length === 0 ? ChildList.EMPTY : new ChildList(copy, copy.length, bytes);
  }

  /** This list with `name` added last. */
  append(name: string): ChildList {
    // The backing array may be extended in place only by the version that ends where it ends.
    const names = this.#names.length === this.length && this !== ChildList.EMPTY ? this.#names : this.#names.slice(0, this.length);
    names.push(name);
    return new ChildList(names, this.length + 1, this.bytes + name.length + 1);
  }

  /** This list without `name` (itself when `name` is not in it). */
  without(name: string): ChildList {
    const index = this.indexOf(name);
    if (index < 0) return this;
    const names = this.#names.slice(0, this.length);
    names.splice(index, 1);
    return names.length === 0 ? ChildList.EMPTY : new ChildList(names, names.length, this.bytes - name.length - 1);
  }

  at(index: number): string | undefined {
    return index >= 0 && index < this.length ? this.#names[index] : undefined;
  }

  indexOf(name: string): number {
    const i = this.#names.indexOf(name);
    return i < this.length ? i : -1;
  }

  includes(name: string): boolean {
    for (let i = 0; i < this.length; i++) if (this.#names[i] === name) return true;
    return false;
  }

  /** A copy of the names. */
  toArray(): string[] {
    return this.#names.slice(0, this.length);
  }

  *[Symbol.iterator](): Iterator<string> {
    for (let i = 0; i < this.length; i++) yield this.#names[i]!;
  }
}
