/**
 * The xenstore operations the handshake uses. `@blk/xenstore`'s client satisfies this shape
 * structurally; so does `MemoryXenbusStore`. `read` rejects with an error whose `code` is
 * 'ENOENT' when the node is missing.
 */
export interface XenbusHandle {
  read(path: string): Promise<string>;
  write(path: string, value: string): Promise<void>;
  directory(path: string): Promise<string[]>;
  rm(path: string): Promise<void>;
  mkdir(path: string): Promise<void>;
  getdomainpath(domid: number): Promise<string>;
  /** Optional: used by `createVbd` to give each side access to its directory, when present. */
  setperms?(path: string, permissions: readonly string[]): Promise<void>;
}

export interface XenbusStore {
  /** Runs `fn` outside any transaction. */
  immediate<T>(fn: (h: XenbusHandle) => Promise<T>): Promise<T>;
  /** Runs `fn` in a transaction, retrying the whole of it on conflict. */
  transaction<T>(fn: (h: XenbusHandle) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` until it returns; when it throws an error named 'Eagain' ("not yet") it runs again
   * after a path it read changes.
   */
  wait<T>(fn: (h: XenbusHandle) => Promise<T>, options?: { signal?: AbortSignal }): Promise<T>;
}

/** The "not yet" error a `wait` callback throws. */
export function notYet(message = 'not yet'): Error {
  return Object.assign(new Error(message), { name: 'Eagain' });
}

export function isNotYet(error: unknown): boolean {
  return error instanceof Error && error.name === 'Eagain';
}

/** True for an error carrying the xenstore code `code` (ENOENT, EAGAIN…). */
export function hasXenbusCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

/** `read`, with undefined for a missing node. */
export async function readOptional(h: XenbusHandle, path: string): Promise<string | undefined> {
  try {
    return await h.read(path);
  } catch (error) {
    if (hasXenbusCode(error, 'ENOENT')) return undefined;
    throw error;
  }
}

/** `rm` that tolerates a node (or parent) that is already gone. */
export async function rmIfPresent(h: XenbusHandle, path: string): Promise<void> {
  try {
    await h.rm(path);
  } catch (error) {
    if (!hasXenbusCode(error, 'ENOENT')) throw error;
  }
}
