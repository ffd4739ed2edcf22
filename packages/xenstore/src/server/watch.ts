import { isDescendantOrSelf } from '../paths.js';

export const SPECIAL_WATCHES = ['@introduceDomain', '@releaseDomain'] as const;
export type SpecialWatch = (typeof SPECIAL_WATCHES)[number];

export function isSpecialWatch(name: string): name is SpecialWatch {
  return (SPECIAL_WATCHES as readonly string[]).includes(name);
}

/** One registered watch of one connection. */
export interface Watch {
  /** Absolute path, or a special `@…` name. */
  readonly path: string;
  readonly token: string;
  /** The domain home the watch was registered relative to: events are reported relative too. */
  readonly relativeTo: string | undefined;
  /** Levels below `path` that still match (undefined: any). */
  readonly depth: number | undefined;
}

function levelsBelow(path: string, ancestor: string): number {
  if (path === ancestor) return 0;
  const rest = ancestor === '/' ? path.slice(1) : path.slice(ancestor.length + 1);
  let levels = 1;
  for (let i = 0; i < rest.length; i++) if (rest.charCodeAt(i) === 0x2f) levels++;
  return levels;
}

/** Does a change at `path` fire this (non-special) watch? */
export function matchesChange(watch: Watch, path: string, exact: boolean): boolean {
  if (watch.path.startsWith('@')) return false;
  if (exact) return watch.path === path;
  if (!isDescendantOrSelf(path, watch.path)) return false;
  return watch.depth === undefined || levelsBelow(path, watch.path) <= watch.depth;
}

/** The event path reported for a change at `path` (relative for relative watches). */
export function reportedPath(watch: Watch, path: string): string {
  if (watch.relativeTo === undefined) return path;
  const rest = path.slice(watch.relativeTo.length);
  return rest.startsWith('/') ? rest.slice(1) : rest;
}

/**
 * The event path for a special event about `domid`, or undefined when the watch does not match:
 * `@releaseDomain` matches (reported as `@releaseDomain/<domid>` with depth 1), and so does
 * `@releaseDomain/<domid>` for that domain only.
 */
export function specialEventPath(watch: Watch, name: SpecialWatch, domid: number): string | undefined {
  if (watch.path === name) return watch.depth === 1 ? `${name}/${domid}` : name;
  if (watch.path === `${name}/${domid}`) return watch.path;
  return undefined;
}
