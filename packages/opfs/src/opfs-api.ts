import { BlockError, isBlockError } from '@blk/core';

/**
 * The parts of the File System Access API this package uses, described here so that neither the
 * package nor its users need the DOM typings. `FileSystemSyncAccessHandle` exists only in
 * dedicated workers; its methods are synchronous (since Chromium 108).
 */
export interface SyncAccessHandle {
  read(buffer: Uint8Array, options: { at: number }): number;
  write(buffer: Uint8Array, options: { at: number }): number;
  truncate(size: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
}

export interface OpfsFileHandle {
  createSyncAccessHandle(options?: { mode?: 'readwrite' | 'read-only' | 'readwrite-unsafe' }): Promise<SyncAccessHandle>;
}

/** An OPFS directory: `navigator.storage.getDirectory()` or any directory below it. */
export interface OpfsDirectoryHandle {
  getFileHandle(name: string, options?: { create?: boolean }): Promise<OpfsFileHandle>;
  removeEntry(name: string): Promise<void>;
}

interface StorageScope {
  navigator?: { storage?: { getDirectory?: () => Promise<OpfsDirectoryHandle> } };
  FileSystemSyncAccessHandle?: unknown;
}

/** The origin's OPFS root, or UNSUPPORTED where there is none or no synchronous access to it. */
export async function opfsRoot(): Promise<OpfsDirectoryHandle> {
  const scope = globalThis as StorageScope;
  const getDirectory = scope.navigator?.storage?.getDirectory;
  if (!getDirectory)
    throw new BlockError('UNSUPPORTED', 'the Origin Private File System is not available here (navigator.storage.getDirectory is missing)');
  if (scope.FileSystemSyncAccessHandle === undefined) {
    throw new BlockError('UNSUPPORTED', 'OPFS synchronous access handles exist only in a dedicated worker: open the device there');
  }
  return getDirectory.call(scope.navigator!.storage);
}

/** DOMException names the OPFS calls throw, as BlockErrors that say what happened. */
export function opfsError(error: unknown, what: string): BlockError {
  if (isBlockError(error)) return error;
  const name = error instanceof Error ? error.name : '';
  const detail = error instanceof Error ? `: ${error.message}` : '';
  switch (name) {
    case 'NotFoundError':
      return new BlockError('INVALID_ARGUMENT', `${what}: no such file${detail}`, { cause: error });
    case 'NoModificationAllowedError':
      return BlockError.io(`${what}: the file is open elsewhere (OPFS allows one read-write handle per file)${detail}`, error);
    case 'QuotaExceededError':
      return BlockError.io(`${what}: out of storage quota${detail}`, error);
    case 'TypeError':
      return new BlockError('INVALID_ARGUMENT', `${what}${detail}`, { cause: error });
    default:
      return BlockError.io(`${what} failed${detail}`, error);
  }
}
