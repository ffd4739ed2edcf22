import type { NodeFields, TreeNode } from './node.js';

/**
 * A readable, writable view of the tree: the store itself, a transaction, or one request's
 * scratch space on top of either. Operations are written once against this interface.
 */
export interface Layer {
  get(path: string): TreeNode | undefined;
  set(path: string, fields: NodeFields): void;
  delete(path: string): void;
  /** Nodes owned by `domid` as this layer sees the tree. */
  ownedBy(domid: number): number;
}
