import type { BlockDevice, BlockInfo } from './block-device.js';
import { OPTIONAL_METHODS, type OptionalMethod, type Supports } from './supports.js';

/**
 * The methods exposeDevice builds a device from: the four every device has, and optional ones
 * (functions that need no `this`).
 */
export interface DeviceMethods {
  readonly getInfo: () => Promise<BlockInfo>;
  readonly read: (sector: number, buffers: readonly Uint8Array[]) => Promise<void>;
  readonly write: (sector: number, buffers: readonly Uint8Array[]) => Promise<void>;
  readonly disconnect: () => Promise<void>;
  readonly flush?: (() => Promise<void>) | undefined;
  readonly discard?: ((sector: number, count: number) => Promise<void>) | undefined;
  readonly writeZeroes?: ((sector: number, count: number) => Promise<void>) | undefined;
  readonly resize?: ((sizeSectors: number) => Promise<void>) | undefined;
  readonly seekMapped?: ((sector: number) => Promise<number>) | undefined;
  readonly seekUnmapped?: ((sector: number) => Promise<number>) | undefined;
}

/**
 * A device object with `flags` as its manifest and `methods` as its methods, each optional
 * method present exactly when its flag is set (a method `methods` lacks stays absent). For
 * devices built from functions: views, wrappers, the public face of a class. A class-based
 * device uses {@link dropUnsupportedMethods} instead. The properties are added to `base` (extra
 * fields and getters of the device) when given.
 */
export function exposeDevice<T extends object = object>(flags: Supports, methods: DeviceMethods, base?: T): T & BlockDevice {
  const device = (base ?? {}) as Record<string, unknown>;
  device.supports = flags;
  device.getInfo = methods.getInfo;
  device.read = methods.read;
  device.write = methods.write;
  device.disconnect = methods.disconnect;
  for (const [method, flag] of Object.entries(OPTIONAL_METHODS) as [OptionalMethod, keyof Supports][]) {
    const fn = methods[method];
    if (flags[flag] && typeof fn === 'function') device[method] = fn;
  }
  return device as unknown as T & BlockDevice;
}
