/**
 * Limits applied to unprivileged domains (privileged callers are exempt, as in C xenstored).
 * Defaults are C xenstored 4.17's.
 */
export interface Quotas {
  /** Nodes a domain may own (ENOSPC beyond). */
  readonly nodes: number;
  /** Largest node record in bytes, counted as C does: 24 + 8 per permission + value + children names with NULs (ENOSPC). */
  readonly nodeSize: number;
  /** Watches per domain (E2BIG beyond). */
  readonly watches: number;
  /** Open transactions per domain, over all its connections (ENOSPC beyond). */
  readonly transactions: number;
  /** Permission entries per node (ENOSPC beyond). */
  readonly permissions: number;
  /** Distinct nodes one transaction may touch (ENOSPC beyond). */
  readonly transactionNodes: number;
  /** Longest path below `/local/domain/<id>/` (applies to everyone: EINVAL beyond). */
  readonly pathMax: number;
}

export const DEFAULT_QUOTAS: Quotas = Object.freeze({
  nodes: 1000,
  nodeSize: 2048,
  watches: 128,
  transactions: 10,
  permissions: 5,
  transactionNodes: 1024,
  pathMax: 2048,
});

/** The names `xenstore-control quota` uses. */
export const QUOTA_NAMES: Readonly<Record<string, { key: keyof Quotas; description: string }>> = {
  nodes: { key: 'nodes', description: 'Nodes per domain' },
  watches: { key: 'watches', description: 'Watches per domain' },
  transactions: { key: 'transactions', description: 'Transactions per domain' },
  'transaction-nodes': { key: 'transactionNodes', description: 'Max. number of accessed nodes per transaction' },
  'node-size': { key: 'nodeSize', description: 'Max. size of a node' },
  'path-max': { key: 'pathMax', description: 'Max. length of a node path' },
  permissions: { key: 'permissions', description: 'Max. number of permissions per node' },
};
