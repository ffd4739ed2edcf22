import { createRequire } from 'node:module';

/** An mmap made by the addon; opaque to JavaScript. */
export type NativeMapping = object & { readonly __nativeMapping?: never };

/** A positioned-I/O thread pool made by the addon; opaque to JavaScript. */
export type NativeIoEngine = object & { readonly __nativeIoEngine?: never };

/** What @blk/fmap needs from its optional addon, @blk/fmap-native. */
export interface FmapNative {
  readonly abiVersion: number;
  /** `built from source` or `prebuilt for <platform>-<arch>`. */
  readonly origin?: string;
  /** mmap(NULL, reserve, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0). */
  map(fd: number, reserve: number): NativeMapping;
  /** An external ArrayBuffer over [offset, offset+length) of the mapping, detached by `unmap`. */
  view(mapping: NativeMapping, offset: number, length: number): ArrayBuffer;
  /** msync: MS_SYNC when `blocking`, else MS_ASYNC. */
  sync(mapping: NativeMapping, offset: number, length: number, blocking: boolean): void;
  /** Detaches every view, then munmap. Idempotent. */
  unmap(mapping: NativeMapping): void;
  /** lseek SEEK_DATA: the next data byte at or after `offset`, or -1 when there is none (ENXIO). */
  seekData(fd: number, offset: number): number;
  /** lseek SEEK_HOLE: the next hole byte at or after `offset`, or -1 past the end (ENXIO). */
  seekHole(fd: number, offset: number): number;
  /** fallocate(PUNCH_HOLE|KEEP_SIZE); false when the file system cannot punch holes. */
  punchHole(fd: number, offset: number, length: number): boolean;
  /** preadv2(RWF_NOWAIT): bytes from the page cache, -1 when it would wait for the disk, -2 when it cannot tell. */
  readNow(fd: number, buffer: Uint8Array, position: number): number;
  /**
   * pwritev on this thread until all is written: bytes, or -1 for more than 64 buffers. Throws on
   * failure. `waited[0]`: the call's milliseconds if the thread slept in it, else 0.
   */
  writeNow(fd: number, buffers: Uint8Array | readonly Uint8Array[], position: number, waited: Float64Array): number;
  /** sysconf(_SC_PAGESIZE). */
  readonly pageSize: number;
  /** Starts an I/O thread pool; finished requests come back as (id, bytes or -errno) pairs in `completions`. */
  ioOpen(threads: number, onComplete: (count: number) => void, completions: Float64Array): NativeIoEngine;
  /** Queues 0 read, 1 write, 2 fdatasync, 3 ftruncate; false when 4096 are outstanding. */
  ioSubmit(
    engine: NativeIoEngine,
    op: number,
    fd: number,
    buffers: Uint8Array | readonly Uint8Array[] | null,
    position: number,
    id: number,
  ): boolean;
  ioClose(engine: NativeIoEngine): void;
}

export const NATIVE_ABI_VERSION = 3;

let loaded: { native: FmapNative | undefined; reason: string } | undefined;

function isNative(value: unknown): value is FmapNative {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    v.abiVersion === NATIVE_ABI_VERSION &&
    typeof v.pageSize === 'number' &&
    ['map', 'view', 'sync', 'unmap', 'seekData', 'seekHole', 'punchHole', 'readNow', 'writeNow', 'ioOpen', 'ioSubmit', 'ioClose'].every(
      (name) => typeof v[name] === 'function',
    )
  );
}

function load(): { native: FmapNative | undefined; reason: string } {
  if (process.env.BLK_FMAP_NATIVE === '0') return { native: undefined, reason: 'disabled by BLK_FMAP_NATIVE=0' };
  try {
    const required: unknown = createRequire(import.meta.url)('@blk/fmap-native');
    if (isNative(required)) return { native: required, reason: required.origin === undefined ? 'loaded' : `loaded (${required.origin})` };
    return { native: undefined, reason: '@blk/fmap-native has an unexpected shape or ABI version' };
  } catch (error) {
    return { native: undefined, reason: `@blk/fmap-native is not available: ${(error as Error).message.split('\n')[0] ?? ''}` };
  }
}

/** The addon, or undefined where it was not built (no compiler, Windows, Electron…). */
export function nativeBinding(): FmapNative | undefined {
  loaded ??= load();
  return loaded.native;
}

/** Whether the mmap engine (and hole-aware seek and discard) can be used here, and why not. */
export function nativeStatus(): { readonly available: boolean; readonly reason: string } {
  loaded ??= load();
  return { available: loaded.native !== undefined, reason: loaded.reason };
}
