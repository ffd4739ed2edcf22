import { XenstoreError } from '../errors.js';
import { baseName, canonicalize, childPath, isValidPath, parentOf } from '../paths.js';
import type { Permission } from '../permissions.js';
import { permits, type Caller, type Need } from './caller.js';
import { ChildList } from './child-list.js';
import type { Layer } from './layer.js';
import { recordSize, type NodeFields, type TreeNode } from './node.js';
import type { Quotas } from './quotas.js';

/** A change that may fire watches; `perms` are the permission lists that decide who may see it. */
export interface ChangeEvent {
  readonly path: string;
  /** Only watches on exactly this path match (children removed along with an ancestor). */
  readonly exact: boolean;
  readonly perms: readonly (readonly Permission[])[];
}

/** Everything a tree operation needs: where to read and write, who asks, the limits, and where changes are reported. */
export interface OpContext {
  readonly layer: Layer;
  readonly caller: Caller;
  readonly quotas: Quotas;
  readonly events: ChangeEvent[];
}

const EMPTY = new Uint8Array(0);

function fail(code: string, message: string): never {
  throw new XenstoreError(code, message);
}

/** Resolves and validates a request's path; EINVAL when it is not a valid node name. */
export function resolvePath(ctx: OpContext, raw: string): string {
  const path = canonicalize(raw, ctx.caller.domid);
  if (!isValidPath(path, ctx.quotas.pathMax)) fail('EINVAL', `invalid path ${JSON.stringify(raw)}`);
  return path;
}

/**
 * The node at `path` if the caller has `need` on it. A missing node yields undefined when the
 * nearest existing ancestor grants `need` (so ENOENT may be told) and EACCES otherwise, so that
 * errors never reveal what the caller may not see (C's `errno_from_parents`).
 */
export function lookup(ctx: OpContext, path: string, need: Need): TreeNode | undefined {
  const node = ctx.layer.get(path);
  if (node) {
    if (!permits(ctx.caller, node.perms, need)) fail('EACCES', `no ${need} permission on ${path}`);
    return node;
  }
  let ancestor: TreeNode | undefined;
  let at = path;
  while (at !== '/' && !ancestor) {
    at = parentOf(at);
    ancestor = ctx.layer.get(at);
  }
  if (!ancestor || !permits(ctx.caller, ancestor.perms, need)) fail('EACCES', `no ${need} permission on ${path}`);
  return undefined;
}

function existing(ctx: OpContext, path: string, need: Need): TreeNode {
  return lookup(ctx, path, need) ?? fail('ENOENT', `${path} does not exist`);
}

function store(ctx: OpContext, path: string, fields: NodeFields): void {
  if (!ctx.caller.privileged && recordSize(fields) >= ctx.quotas.nodeSize) {
    fail('ENOSPC', `node ${path} would exceed the node-size quota of ${ctx.quotas.nodeSize} bytes`);
  }
  ctx.layer.set(path, fields);
}

/** Creates `path` and any missing ancestors, each inheriting its parent's permissions. */
function create(ctx: OpContext, path: string, value: Uint8Array): void {
  const missing: string[] = [];
  let at = path;
  let parent = ctx.layer.get(at);
  while (!parent) {
    missing.push(at);
    at = parentOf(at);
    parent = ctx.layer.get(at);
  }
  const { caller } = ctx;
  if (!caller.privileged && ctx.layer.ownedBy(caller.domid) + missing.length > ctx.quotas.nodes) {
    fail('ENOSPC', `domain ${caller.domid} would exceed its quota of ${ctx.quotas.nodes} nodes`);
  }
  let parentPath = at;
  for (let i = missing.length - 1; i >= 0; i--) {
    const childAt = missing[i]!;
    store(ctx, parentPath, { value: parent.value, perms: parent.perms, children: parent.children.append(baseName(childAt)) });
    const perms = caller.privileged ? parent.perms : [{ domid: caller.domid, access: parent.perms[0]!.access }, ...parent.perms.slice(1)];
    const child: NodeFields = { value: i === 0 ? value : EMPTY, perms, children: ChildList.EMPTY };
    store(ctx, childAt, child);
    parent = ctx.layer.get(childAt)!;
    parentPath = childAt;
  }
}

export function readValue(ctx: OpContext, path: string): Uint8Array {
  return existing(ctx, path, 'read').value;
}

export function listChildren(ctx: OpContext, path: string): ChildList {
  return existing(ctx, path, 'read').children;
}

export function readNode(ctx: OpContext, path: string): TreeNode {
  return existing(ctx, path, 'read');
}

export function writeValue(ctx: OpContext, path: string, value: Uint8Array): void {
  const node = lookup(ctx, path, 'write');
  if (node) store(ctx, path, { value, perms: node.perms, children: node.children });
  else create(ctx, path, value);
  ctx.events.push({ path, exact: false, perms: [ctx.layer.get(path)!.perms] });
}

export function makeDirectory(ctx: OpContext, path: string): void {
  if (lookup(ctx, path, 'write')) return;
  create(ctx, path, EMPTY);
  ctx.events.push({ path, exact: false, perms: [ctx.layer.get(path)!.perms] });
}

/** Removes `path` and its subtree; fine when it is missing but its parent exists. */
export function remove(ctx: OpContext, path: string): void {
  const node = lookup(ctx, path, 'write');
  const parentPath = parentOf(path);
  if (!node) {
    if (path !== '/' && ctx.layer.get(parentPath)) return;
    fail('ENOENT', `neither ${path} nor its parent exists`);
  }
  if (path === '/') fail('EINVAL', 'cannot remove the root');
  const parent = ctx.layer.get(parentPath) ?? fail('EINVAL', `parent of ${path} is missing`);
  // Children before parents; watches on a removed descendant see exactly their own path.
  const order: [string, TreeNode][] = [];
  const stack: [string, TreeNode][] = [[path, node]];
  while (stack.length > 0) {
    const entry = stack.pop()!;
    order.push(entry);
    for (const name of entry[1].children) {
      const at = childPath(entry[0], name);
      const child = ctx.layer.get(at);
      if (child) stack.push([at, child]);
    }
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const [at, n] = order[i]!;
    ctx.layer.delete(at);
    ctx.events.push({ path: at, exact: at !== path, perms: [n.perms] });
  }
  const name = baseName(path);
  ctx.layer.set(parentPath, { value: parent.value, perms: parent.perms, children: parent.children.without(name) });
}

export function setPermissions(ctx: OpContext, path: string, perms: readonly Permission[]): void {
  const node = existing(ctx, path, 'own');
  if (!ctx.caller.privileged && perms[0]!.domid !== node.perms[0]!.domid) {
    fail('EPERM', 'only a privileged domain may change the owner');
  }
  store(ctx, path, { value: node.value, perms, children: node.children });
  ctx.events.push({ path, exact: false, perms: [perms, node.perms] });
}
