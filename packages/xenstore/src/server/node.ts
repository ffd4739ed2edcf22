import type { Permission } from '../permissions.js';
import type { ChildList } from './child-list.js';

/** One node of the tree. Nodes are never mutated: every change stores a new object. */
export interface TreeNode {
  readonly value: Uint8Array;
  /** First entry: owner and default access. */
  readonly perms: readonly Permission[];
  /** Child names in creation order (DIRECTORY lists them in this order). */
  readonly children: ChildList;
  /** Bumped on every change; transactions compare it to detect conflicts. */
  readonly generation: number;
}

export type NodeFields = Omit<TreeNode, 'generation'>;

export function ownerOf(node: TreeNode | NodeFields): number {
  return node.perms[0]!.domid;
}

/** C xenstored's record size: 24-byte header, 8 bytes per permission, value, NUL-terminated children. */
export function recordSize(node: NodeFields): number {
  return 24 + 8 * node.perms.length + node.value.length + node.children.bytes;
}
