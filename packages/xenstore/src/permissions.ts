import { XenstoreError } from './errors.js';

/** `n` none, `r` read, `w` write, `b` both. */
export type Access = 'n' | 'r' | 'w' | 'b';

/**
 * One permission entry. The first entry of a node's list names its owner (who always has full
 * access) and gives the access of every domain not listed; later entries override per domain.
 */
export interface Permission {
  readonly domid: number;
  readonly access: Access;
}

const PATTERN = /^([nrwb])(\d{1,10})$/;

/** `'b0'` → `{ domid: 0, access: 'b' }`; undefined for anything else. */
export function parsePermission(text: string): Permission | undefined {
  const m = PATTERN.exec(text);
  if (!m) return undefined;
  const domid = Number(m[2]);
  if (domid > 0xffff_ffff) return undefined;
  return { domid, access: m[1] as Access };
}

export function formatPermission(permission: Permission): string {
  return `${permission.access}${permission.domid}`;
}

/** Accepts `Permission` objects or their wire form (`'r5'`); throws `XenstoreError` EINVAL otherwise. */
export function toPermission(permission: Permission | string): Permission {
  if (typeof permission === 'string') {
    const parsed = parsePermission(permission);
    if (!parsed) throw new XenstoreError('EINVAL', `invalid permission ${JSON.stringify(permission)}`);
    return parsed;
  }
  if (
    !Number.isInteger(permission.domid) ||
    permission.domid < 0 ||
    permission.domid > 0xffff_ffff ||
    !'nrwb'.includes(permission.access) ||
    permission.access.length !== 1
  ) {
    throw new XenstoreError('EINVAL', `invalid permission ${JSON.stringify(permission)}`);
  }
  return { domid: permission.domid, access: permission.access };
}

export function allowsRead(access: Access): boolean {
  return access === 'r' || access === 'b';
}

export function allowsWrite(access: Access): boolean {
  return access === 'w' || access === 'b';
}
