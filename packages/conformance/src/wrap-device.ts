import { OPTIONAL_METHODS, type BlockDevice } from '@blk/core';

export type DeviceOperation =
  | 'getInfo'
  | 'read'
  | 'write'
  | 'flush'
  | 'discard'
  | 'writeZeroes'
  | 'resize'
  | 'seekMapped'
  | 'seekUnmapped';

const ALWAYS: readonly DeviceOperation[] = ['getInfo', 'read', 'write'];

/**
 * A device that forwards to `inner` but runs every call through `around(op, args, call)`, where
 * `call()` performs the real operation. Keeps `supports` and the presence of optional methods
 * exactly as `inner` has them; `disconnect` is forwarded untouched.
 */
export function wrapDevice(
  inner: BlockDevice,
  around: (op: DeviceOperation, args: readonly unknown[], call: () => Promise<unknown>) => Promise<unknown>,
): BlockDevice {
  const wrapped: Record<string, unknown> = {
    supports: inner.supports,
    disconnect: () => inner.disconnect(),
  };
  const ops = [...ALWAYS, ...(Object.keys(OPTIONAL_METHODS) as DeviceOperation[])];
  for (const op of ops) {
    const method = (inner as unknown as Record<string, unknown>)[op];
    if (typeof method !== 'function') continue;
    wrapped[op] = (...args: unknown[]) =>
      around(op, args, () => (method as (...a: unknown[]) => Promise<unknown>).apply(inner, args));
  }
  return wrapped as unknown as BlockDevice;
}
