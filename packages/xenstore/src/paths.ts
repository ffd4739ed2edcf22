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

const LOCAL = '/local/domain/';

/** Length of a `/local/domain/<1-5 digits>/` prefix, or 0 (C reads it with `%5u/`). */
function localPrefixLength(path: string): number {
  if (!path.startsWith(LOCAL)) return 0;
  let i = LOCAL.length;
  while (i < path.length && i - LOCAL.length < 5 && path.charCodeAt(i) >= 0x30 && path.charCodeAt(i) <= 0x39) i++;
  return i > LOCAL.length && path.charCodeAt(i) === 0x2f ? i + 1 : 0;
}

function validChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x2f || // /
    c === 0x2d || // -
    c === 0x5f || // _
    c === 0x40 // @
  );
}

/**
 * C xenstored's `is_valid_nodename`: starts with `/`, no trailing `/` except the root, no `//`,
 * only `A-Z a-z 0-9 - / _ @`, and at most `maxRelative` characters after a `/local/domain/<id>/`
 * prefix (or in the whole path without one).
 */
export function isValidPath(path: string, maxRelative = REL_PATH_MAX): boolean {
  const n = path.length;
  if (n === 0 || path.charCodeAt(0) !== 0x2f) return false;
  if (n > 1 && path.charCodeAt(n - 1) === 0x2f) return false;
  if (n > localPrefixLength(path) + maxRelative) return false;
  let previous = 0;
  for (let i = 0; i < n; i++) {
    const c = path.charCodeAt(i);
    if (!validChar(c) || (c === 0x2f && previous === 0x2f)) return false;
    previous = c;
  }
  return true;
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
