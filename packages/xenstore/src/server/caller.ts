import { allowsRead, allowsWrite, type Permission } from '../permissions.js';

/** Who is asking: the connection's domain and its privileges. */
export interface Caller {
  readonly domid: number;
  /** dom0 (and the configured privileged domain) bypass permission checks and quotas. */
  readonly privileged: boolean;
  /** Set by SET_TARGET: the caller also acts as this domain. */
  readonly target: number | undefined;
}

export interface Access {
  readonly read: boolean;
  readonly write: boolean;
  readonly owner: boolean;
}

const ALL: Access = { read: true, write: true, owner: true };

/** C xenstored's `perm_for_conn`. */
export function accessFor(caller: Caller, perms: readonly Permission[]): Access {
  const first = perms[0]!;
  if (caller.privileged || first.domid === caller.domid || (caller.target !== undefined && first.domid === caller.target)) {
    return ALL;
  }
  for (let i = 1; i < perms.length; i++) {
    const p = perms[i]!;
    if (p.domid === caller.domid || (caller.target !== undefined && p.domid === caller.target)) {
      return { read: allowsRead(p.access), write: allowsWrite(p.access), owner: false };
    }
  }
  return { read: allowsRead(first.access), write: allowsWrite(first.access), owner: false };
}

export type Need = 'read' | 'write' | 'own';

export function permits(caller: Caller, perms: readonly Permission[], need: Need): boolean {
  const access = accessFor(caller, perms);
  if (need === 'read') return access.read;
  if (need === 'write') return access.write;
  return access.write && access.owner;
}
