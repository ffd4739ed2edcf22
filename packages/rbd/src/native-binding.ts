import { createRequire } from 'node:module';
import { BlockError } from '@blk/core';

/** A librados connection made by the addon; opaque to JavaScript. */
export type NativeCluster = object & { readonly __nativeCluster?: never };
/** An open image made by the addon; opaque to JavaScript. */
export type NativeImage = object & { readonly __nativeImage?: never };

/** What @blk/rbd needs from @blk/rbd-native (see that package's index.d.cts). */
export interface RbdNative {
  readonly abiVersion: number;
  readonly librbdVersion: string;
  connect(conf: string | null, id: string | null, keyring: string | null, settings: readonly string[]): Promise<NativeCluster>;
  shutdown(cluster: NativeCluster): Promise<void>;
  createImage(
    cluster: NativeCluster,
    pool: string,
    namespace: string | null,
    name: string,
    sizeBytes: number,
    order: number,
    features: number | null,
  ): Promise<void>;
  removeImage(cluster: NativeCluster, pool: string, namespace: string | null, name: string, purgeSnapshots: boolean): Promise<void>;
  open(
    cluster: NativeCluster,
    pool: string,
    namespace: string | null,
    name: string,
    snapshot: string | null,
    readOnly: boolean,
    onComplete: (count: number) => void,
    completions: Float64Array,
  ): Promise<[NativeImage, number]>;
  close(image: NativeImage): Promise<void>;
  size(image: NativeImage): Promise<number>;
  resize(image: NativeImage, sizeBytes: number): Promise<void>;
  snapshot(image: NativeImage, op: 0 | 1, name: string): Promise<void>;
  diff(image: NativeImage, offset: number, length: number, maxExtents: number): Promise<Float64Array>;
  submit(
    image: NativeImage,
    op: 0 | 1 | 2 | 3 | 4,
    buffers: readonly Uint8Array[] | null,
    offset: number,
    length: number,
    id: number,
  ): boolean;
}

export const NATIVE_ABI_VERSION = 1;

const FUNCTIONS = ['connect', 'shutdown', 'createImage', 'removeImage', 'open', 'close', 'size', 'resize', 'snapshot', 'diff', 'submit'];

let loaded: { native: RbdNative | undefined; reason: string } | undefined;

function load(): { native: RbdNative | undefined; reason: string } {
  try {
    const required: unknown = createRequire(import.meta.url)('@blk/rbd-native');
    const v = required as Record<string, unknown>;
    if (
      typeof required === 'object' &&
      required !== null &&
      v.abiVersion === NATIVE_ABI_VERSION &&
      FUNCTIONS.every((name) => typeof v[name] === 'function')
    ) {
      return { native: required as RbdNative, reason: `loaded (librbd ${String(v.librbdVersion)})` };
    }
    return { native: undefined, reason: '@blk/rbd-native has an unexpected shape or ABI version' };
  } catch (error) {
    return { native: undefined, reason: (error as Error).message.split('\n')[0] ?? String(error) };
  }
}

/** Whether the librbd binding is built and loads here, and why not (e.g. librbd-dev was missing at install). */
export function nativeStatus(): { readonly available: boolean; readonly reason: string } {
  loaded ??= load();
  return { available: loaded.native !== undefined, reason: loaded.reason };
}

/** The binding, or an UNSUPPORTED BlockError saying why it is missing. */
export function requireNative(): RbdNative {
  loaded ??= load();
  if (loaded.native) return loaded.native;
  throw new BlockError(
    'UNSUPPORTED',
    `@blk/rbd needs its librbd binding, which is not available: ${loaded.reason}. Install librbd-dev (Debian/Ubuntu) or librbd-devel (Fedora) and reinstall @blk/rbd-native; there is no pure TypeScript fallback.`,
  );
}
