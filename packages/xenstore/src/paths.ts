import { REL_PATH_MAX } from './codec/limits.js';

/** `/local/domain/<domid>`: a domain's home, and the base of its relative paths. */
export function domainPath(domid: number): string {
  return `/local/domain/${domid}`;
}

/** Absolute paths pass unchanged, as do special `@…` names; relative ones move under the domain's home. */
export function canonicalize(path: string, domid: number): string {
  if (path.startsWith('/') || path.startsWith('@')) return path;
  return `${domainPath(domid)}/${path}`;
}

const VALID_CHARS = /^[A-Za-z0-9\-/_@]*$/;
const LOCAL_PREFIX = /^\/local\/domain\/\d{1,5}\//;

/**
 * C xenstored's `is_valid_nodename`: starts with `/`, no trailing `/` except the root, no `//`,
 * only `A-Z a-z 0-9 - / _ @`, and at most `maxRelative` characters after a `/local/domain/<id>/`
 * prefix (or in the whole path without one).
 */
export function isValidPath(path: string, maxRelative = REL_PATH_MAX): boolean {
  if (!path.startsWith('/')) return false;
  if (path.length > 1 && path.endsWith('/')) return false;
  if (path.includes('//')) return false;
  const prefix = LOCAL_PREFIX.exec(path);
  const offset = prefix ? prefix[0].length : 0;
  if (path.length > offset + maxRelative) return false;
  return VALID_CHARS.test(path);
}

/** Parent of an absolute path other than `/`. */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/** True when `path` is `ancestor` or below it (everything is below `/`). */
export function isDescendantOrSelf(path: string, ancestor: string): boolean {
  if (ancestor === '/') return true;
  if (!path.startsWith(ancestor)) return false;
  return path.length === ancestor.length || path.charCodeAt(ancestor.length) === 0x2f;
}
