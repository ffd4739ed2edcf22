import type { BlockFile } from './block-file.js';
import { FmapError } from './fmap-error.js';
import { decodeMapBlock, encodeMapBlock, mapFanout } from './map-block.js';
import { mapHeight, newNode, type MapNode } from './map-node.js';

/** What a commit of the map records in the superblock. */
export interface StagedMap {
  readonly root: number;
  readonly height: number;
  readonly mappedUnits: number;
  readonly mapBlocks: number;
}

/**
 * The unit → block map of an fmap device: a radix tree of map blocks kept whole in memory, with
 * a count of mapped units in every node so seeks skip empty and full subtrees. Changed nodes are
 * written copy-on-write by `stage` (new blocks; the old ones freed, which a BlockFile only reuses
 * after the next commit), so the committed tree is never touched before the commit replacing it.
 */
export class BlockMap {
  readonly fanout: number;
  #file: BlockFile;
  #root: MapNode;
  #height: number;
  #spans: number[] = [1];
  #mapBlocks = 0;
  /** Changed since the last `stage`. */
  #dirty = false;

  private constructor(file: BlockFile, root: MapNode, height: number) {
    this.#file = file;
    this.fanout = mapFanout(file.blockSize);
    this.#root = root;
    this.#height = height;
    this.#extendSpans();
  }

  /**
   * Reads and checks the whole committed map. Every map and data block must be an allocated,
   * distinct block of the file, every entry inside the device, every node where its parent says
   * and no node empty; anything else is E_CORRUPT (or E_CHECKSUM for a damaged map block).
   */
  static load(file: BlockFile, committed: StagedMap, units: number, path: string): BlockMap {
    const fanout = mapFanout(file.blockSize);
    const stats = file.stats();
    const taken = new Set<number>([...stats.free, ...stats.freeListPages]);
    const corrupt = (why: string) => new FmapError('E_CORRUPT', `${path}: ${why}`);
    const claim = (at: number, what: string) => {
      if (!Number.isSafeInteger(at) || at % stats.blockSize !== 0 || at < stats.firstBlock || at >= stats.size) {
        throw corrupt(`${what} is at ${at}, which is not a block of the file`);
      }
      if (taken.has(at)) throw corrupt(`${what} is at ${at}, which is free or already taken`);
      taken.add(at);
    };
    const map = new BlockMap(file, newNode(committed.height - 1, 0, fanout), committed.height);
    const spans = map.#spans;
    let nodes = 0;
    const loadNode = (at: number, level: number, first: number): MapNode => {
      claim(at, `the level-${level} map block from unit ${first}`);
      nodes++;
      const decoded = file.do(at, 1, (bytes) => decodeMapBlock(bytes, at, path));
      if (decoded.level !== level || decoded.first !== first) {
        throw corrupt(
          `map block ${at} says level ${decoded.level} from unit ${decoded.first}; its parent expects level ${level} from unit ${first}`,
        );
      }
      const node = newNode(level, first, fanout);
      node.disk = at;
      node.dirty = false;
      const { entries } = decoded;
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i]!;
        if (entry === 0) continue;
        const unit = first + i * spans[level]!;
        if (unit >= units) throw corrupt(`map block ${at} maps unit ${unit}, past the end of the device (${units} units)`);
        if (level === 0) {
          claim(entry, `the data of unit ${unit}`);
          node.blocks![i] = entry;
          node.mapped++;
        } else {
          const child = loadNode(entry, level - 1, unit);
          node.children![i] = child;
          node.mapped += child.mapped;
        }
      }
      if (node.mapped === 0) throw corrupt(`map block ${at} maps nothing`);
      return node;
    };
    if (committed.root !== 0) map.#root = loadNode(committed.root, committed.height - 1, 0);
    else map.#root.dirty = false;
    if (map.#root.mapped !== committed.mappedUnits || nodes !== committed.mapBlocks) {
      throw corrupt(
        `the map holds ${map.#root.mapped} units in ${nodes} blocks; the superblock says ${committed.mappedUnits} in ${committed.mapBlocks}`,
      );
    }
    map.#mapBlocks = nodes;
    return map;
  }

  #extendSpans(): void {
    while (this.#spans.length <= this.#height) this.#spans.push(this.#spans.at(-1)! * this.fanout);
  }

  get dirty(): boolean {
    return this.#dirty;
  }

  get mappedUnits(): number {
    return this.#root.mapped;
  }

  #index(node: MapNode, unit: number): number {
    return Math.floor((unit - node.first) / this.#spans[node.level]!);
  }

  /** The data block of `unit`, or 0 when it is unmapped. */
  lookup(unit: number): number {
    let node = this.#root;
    while (node.children) {
      const child = node.children[this.#index(node, unit)];
      if (!child) return 0;
      node = child;
    }
    return node.blocks![unit - node.first]!;
  }

  /** Maps an unmapped `unit` to `block`. */
  set(unit: number, block: number): void {
    let node = this.#root;
    this.#dirty = true;
    for (;;) {
      node.dirty = true;
      node.mapped++;
      if (!node.children) break;
      const i = this.#index(node, unit);
      let child = node.children[i];
      if (!child) {
        child = newNode(node.level - 1, node.first + i * this.#spans[node.level]!, this.fanout);
        node.children[i] = child;
      }
      node = child;
    }
    node.blocks![unit - node.first] = block;
  }

  /** Unmaps `unit`; returns the block it had (the caller frees it), or 0. */
  unset(unit: number): number {
    const path: MapNode[] = [];
    let node = this.#root;
    while (node.children) {
      path.push(node);
      const child = node.children[this.#index(node, unit)];
      if (!child) return 0;
      node = child;
    }
    const at = unit - node.first;
    const block = node.blocks![at]!;
    if (block === 0) return 0;
    node.blocks![at] = 0;
    path.push(node);
    for (const n of path) {
      n.mapped--;
      n.dirty = true;
    }
    this.#dirty = true;
    return block;
  }

  /** The first mapped unit at or after `unit`, or -1. */
  nextMapped(unit: number): number {
    return this.#nextMapped(this.#root, unit);
  }

  #nextMapped(node: MapNode, unit: number): number {
    if (node.mapped === 0) return -1;
    const { blocks } = node;
    if (blocks) {
      for (let i = unit - node.first; i < blocks.length; i++) if (blocks[i] !== 0) return node.first + i;
      return -1;
    }
    for (let i = this.#index(node, unit); i < this.fanout; i++) {
      const child = node.children![i];
      if (!child || child.mapped === 0) continue;
      const found = this.#nextMapped(child, Math.max(unit, child.first));
      if (found >= 0) return found;
    }
    return -1;
  }

  /** The first unmapped unit at or after `unit` (possibly past the device's end), or -1. */
  nextUnmapped(unit: number): number {
    return this.#nextUnmapped(this.#root, unit);
  }

  #nextUnmapped(node: MapNode, unit: number): number {
    if (node.mapped === 0) return unit;
    if (node.mapped === this.#spans[node.level + 1]) return -1;
    const { blocks } = node;
    if (blocks) {
      for (let i = unit - node.first; i < blocks.length; i++) if (blocks[i] === 0) return node.first + i;
      return -1;
    }
    const span = this.#spans[node.level]!;
    for (let i = this.#index(node, unit); i < this.fanout; i++) {
      const from = Math.max(unit, node.first + i * span);
      const child = node.children![i];
      if (!child) return from;
      const found = this.#nextUnmapped(child, from);
      if (found >= 0) return found;
    }
    return -1;
  }

  /** Grows the map to cover `units` units (adding levels above the root when needed). */
  grow(units: number): void {
    const height = mapHeight(units, this.fanout);
    while (this.#height < height) {
      const root = newNode(this.#height, 0, this.fanout);
      root.children![0] = this.#root;
      root.mapped = this.#root.mapped;
      this.#root = root;
      this.#height++;
      this.#extendSpans();
      this.#dirty = true;
    }
  }

  /** Unmaps every unit from `units` on, passing each freed block (data or map) to `free`, and drops spare levels. */
  shrink(units: number, free: (block: number) => void): void {
    const removed = this.#truncate(this.#root, units, free);
    if (removed > 0) this.#dirty = true;
    const height = mapHeight(units, this.fanout);
    while (this.#height > height) {
      const old = this.#root;
      const child = old.children![0];
      for (let i = 1; i < this.fanout; i++) if (old.children![i]) this.#drop(old.children![i]!, free);
      if (old.disk !== 0) this.#freeMapBlock(old.disk, free);
      this.#root = child ?? newNode(old.level - 1, 0, this.fanout);
      this.#height--;
      this.#dirty = true;
    }
    this.#spans.length = this.#height + 1;
  }

  /** Removes mapped units ≥ `units` under `node`; returns how many. */
  #truncate(node: MapNode, units: number, free: (block: number) => void): number {
    let removed = 0;
    if (node.blocks) {
      for (let i = Math.max(0, units - node.first); i < this.fanout; i++) {
        const block = node.blocks[i]!;
        if (block === 0) continue;
        free(block);
        node.blocks[i] = 0;
        removed++;
      }
    } else {
      const span = this.#spans[node.level]!;
      for (let i = Math.max(0, Math.floor((units - node.first) / span)); i < this.fanout; i++) {
        const child = node.children![i];
        if (!child) continue;
        if (child.first >= units) {
          removed += child.mapped;
          this.#drop(child, free);
          node.children![i] = undefined;
          node.dirty = true;
        } else {
          removed += this.#truncate(child, units, free);
        }
      }
    }
    if (removed > 0) {
      node.mapped -= removed;
      node.dirty = true;
    }
    return removed;
  }

  /** Frees a whole subtree: its data blocks and its map blocks. */
  #drop(node: MapNode, free: (block: number) => void): void {
    if (node.blocks) {
      for (const block of node.blocks) if (block !== 0) free(block);
    } else {
      for (const child of node.children!) if (child) this.#drop(child, free);
    }
    if (node.disk !== 0) this.#freeMapBlock(node.disk, free);
  }

  #freeMapBlock(block: number, free: (block: number) => void): void {
    free(block);
    this.#mapBlocks--;
  }

  /**
   * Writes every changed node to a new block, then frees the blocks they replace and prunes empty
   * nodes; the result goes into the superblock of the same commit. All or nothing: when a write
   * fails, the new blocks are freed again and the map is left as it was (still dirty).
   */
  stage(): StagedMap {
    const file = this.#file;
    const fresh = new Map<MapNode, number>();
    try {
      this.#write(this.#root, fresh);
    } catch (error) {
      for (const block of fresh.values()) file.free(block);
      throw error;
    }
    const free = (block: number) => {
      file.free(block);
    };
    this.#apply(this.#root, fresh, free);
    if (this.#root.mapped === 0 && this.#root.disk !== 0) {
      this.#freeMapBlock(this.#root.disk, free);
      this.#root.disk = 0;
    }
    this.#dirty = false;
    return { root: this.#root.disk, height: this.#height, mappedUnits: this.#root.mapped, mapBlocks: this.#mapBlocks };
  }

  /** Writes `node` (and its changed children first) into new blocks; returns where it will be after the commit. */
  #write(node: MapNode, fresh: Map<MapNode, number>): number {
    if (!node.dirty) return node.disk;
    if (node.mapped === 0) return 0;
    const entries = node.blocks ?? Float64Array.from(node.children!, (child) => (child ? this.#write(child, fresh) : 0));
    const file = this.#file;
    const block = file.allocate();
    fresh.set(node, block);
    file.do(block, 1, (bytes) => {
      encodeMapBlock(bytes, { level: node.level, first: node.first, entries });
    });
    return block;
  }

  /** Second half of `stage`, which cannot fail: nodes take their new blocks, old ones are freed. */
  #apply(node: MapNode, fresh: Map<MapNode, number>, free: (block: number) => void): void {
    if (!node.dirty) return;
    const { children } = node;
    if (children) {
      for (let i = 0; i < children.length; i++) {
        const child = children[i];
        if (!child?.dirty) continue;
        this.#apply(child, fresh, free);
        if (child.mapped === 0) {
          this.#drop(child, free);
          children[i] = undefined;
        }
      }
    }
    const block = fresh.get(node);
    if (block !== undefined) {
      this.#mapBlocks++;
      if (node.disk !== 0) this.#freeMapBlock(node.disk, free);
      node.disk = block;
    }
    node.dirty = false;
  }

  /** Calls `fn` with every block the map holds: its own map blocks and the units' data blocks. */
  forEachBlock(fn: (block: number, kind: 'map' | 'data') => void): void {
    const walk = (node: MapNode) => {
      if (node.disk !== 0) fn(node.disk, 'map');
      if (node.blocks) {
        for (const block of node.blocks) if (block !== 0) fn(block, 'data');
      } else {
        for (const child of node.children!) if (child) walk(child);
      }
    };
    walk(this.#root);
  }
}
