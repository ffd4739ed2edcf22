import { open, rename } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { isValidPath, parentOf, baseName } from '../paths.js';
import { formatPermission, parsePermission, type Permission } from '../permissions.js';
import { ChildList } from './child-list.js';
import type { NodeFields } from './node.js';
import type { SpecialWatch } from './watch.js';

const FORMAT = '@blk/xenstore tree';

/** The saved tree: nodes in pre-order (parents first) and the special watch permissions. */
export interface SavedTree {
  readonly nodes: readonly (readonly [string, NodeFields])[];
  readonly special: Readonly<Record<SpecialWatch, readonly Permission[]>>;
}

interface FileShape {
  format: string;
  version: number;
  special: Record<string, string[]>;
  nodes: [string, string, string[], string[]][];
}

export function serializeTree(tree: SavedTree): string {
  const shape: FileShape = {
    format: FORMAT,
    version: 1,
    special: Object.fromEntries(Object.entries(tree.special).map(([k, v]) => [k, v.map(formatPermission)])),
    nodes: tree.nodes.map(([path, node]) => [
      path,
      Buffer.from(node.value.buffer, node.value.byteOffset, node.value.byteLength).toString('base64'),
      node.perms.map(formatPermission),
      [...node.children],
    ]),
  };
  return JSON.stringify(shape);
}

function bad(file: string, why: string): Error {
  return new Error(`${file} is not a valid @blk/xenstore tree: ${why}`);
}

function perms(file: string, list: unknown): Permission[] {
  if (!Array.isArray(list) || list.length === 0) throw bad(file, 'empty permission list');
  return list.map((text) => {
    const p = typeof text === 'string' ? parsePermission(text) : undefined;
    if (!p) throw bad(file, `permission ${JSON.stringify(text)}`);
    return p;
  });
}

/**
 * Reads a saved tree; undefined when the file does not exist. Throws when the file exists but is
 * not a consistent tree (parents listing exactly the children present), rather than start on a
 * damaged store.
 */
export function loadTree(file: string): SavedTree | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw bad(file, (error as Error).message);
  }
  const shape = parsed as Partial<FileShape> | null;
  if (shape?.format !== FORMAT || shape.version !== 1 || !Array.isArray(shape.nodes)) {
    throw bad(file, 'unknown format');
  }
  const nodes: [string, NodeFields][] = [];
  const seen = new Map<string, NodeFields>();
  for (const entry of shape.nodes as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 4) throw bad(file, 'node entry shape');
    const [path, value, permList, children] = entry as unknown[];
    if (typeof path !== 'string' || !isValidPath(path, Infinity)) throw bad(file, `path ${JSON.stringify(path)}`);
    if (typeof value !== 'string') throw bad(file, `value of ${path}`);
    if (!Array.isArray(children) || !children.every((c) => typeof c === 'string' && c.length > 0 && !c.includes('/'))) {
      throw bad(file, `children of ${path}`);
    }
    if (seen.has(path)) throw bad(file, `${path} appears twice`);
    if (path !== '/') {
      const parent = seen.get(parentOf(path));
      if (!parent?.children.includes(baseName(path))) throw bad(file, `${path} comes before its parent or is not listed by it`);
    }
    const node: NodeFields = {
      value: new Uint8Array(Buffer.from(value, 'base64')),
      perms: perms(file, permList),
      children: ChildList.of(children as string[]),
    };
    seen.set(path, node);
    nodes.push([path, node]);
  }
  if (!seen.has('/')) throw bad(file, 'no root node');
  for (const [path, node] of seen) {
    for (const child of node.children) {
      if (!seen.has(path === '/' ? `/${child}` : `${path}/${child}`)) throw bad(file, `${path} lists missing child ${child}`);
    }
  }
  const special = shape.special as Record<string, unknown> | undefined;
  const readSpecial = (name: SpecialWatch): Permission[] => {
    const list = special?.[name];
    return list === undefined ? [{ domid: 0, access: 'n' }] : perms(file, list);
  };
  return { nodes, special: { '@introduceDomain': readSpecial('@introduceDomain'), '@releaseDomain': readSpecial('@releaseDomain') } };
}

/** Writes `text` to `file` atomically: a temporary file beside it, fsync, rename, fsync of the folder. */
export async function writeAtomically(file: string, text: string): Promise<void> {
  const temp = `${file}.tmp-${process.pid}`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
  const dir = await open(dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Longest pause between two attempts while saving fails. */
const MAX_RETRY_MS = 2000;

/**
 * Saves the tree whenever it changed, one save at a time, each covering every change made before
 * it started (group commit). `durable` is the store version known to be on disk. A failed save is
 * reported and retried (backing off to one attempt every 2 s) for as long as there is something
 * to save, so the server recovers by itself once the disk does.
 */
export class Persister {
  readonly file: string;
  readonly #snapshot: () => { version: number; text: string };
  readonly #onDurable: () => void;
  readonly #onError: (error: Error) => void;
  #durable: number;
  #wanted: number;
  #running: Promise<void> | undefined;
  #stopping = false;
  #wake: (() => void) | undefined;

  constructor(
    file: string,
    version: number,
    snapshot: () => { version: number; text: string },
    onDurable: () => void,
    onError: (error: Error) => void,
  ) {
    this.file = file;
    this.#durable = version;
    this.#wanted = version;
    this.#snapshot = snapshot;
    this.#onDurable = onDurable;
    this.#onError = onError;
  }

  get durable(): number {
    return this.#durable;
  }

  /** Asks for everything up to `version` to reach the disk. */
  request(version: number): void {
    if (version <= this.#wanted) return;
    this.#wanted = version;
    if (!this.#stopping) this.#running ??= this.#loop();
  }

  /** Makes one last attempt if one is pending, stops retrying, and resolves when the loop is done. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    while (this.#running) await this.#running;
  }

  async #loop(): Promise<void> {
    // Let the current burst of requests finish changing the tree before the first save.
    await new Promise((resolve) => setImmediate(resolve));
    let failures = 0;
    while (this.#durable < this.#wanted) {
      const { version, text } = this.#snapshot();
      try {
        await writeAtomically(this.file, text);
        this.#durable = version;
        failures = 0;
        this.#onDurable();
      } catch (error) {
        this.#onError(error as Error);
        if (this.#stopping) break;
        failures++;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(100 * 2 ** (failures - 1), MAX_RETRY_MS));
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = undefined;
      }
    }
    this.#running = undefined;
  }
}
