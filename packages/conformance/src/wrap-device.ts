import { OPTIONAL_METHODS, exposeDevice, type BlockDevice, type DeviceMethods } from '@blk/core';

export type DeviceOperation = 'getInfo' | 'read' | 'write' | 'flush' | 'discard' | 'writeZeroes' | 'resize' | 'seekMapped' | 'seekUnmapped';

const OPS: readonly DeviceOperation[] = ['getInfo', 'read', 'write', ...(Object.keys(OPTIONAL_METHODS) as DeviceOperation[])];

/**
 * A device that forwards to `inner` but runs every call through `around(op, args, call)`, where
 * `call()` performs the real operation. Keeps `supports`; each optional method is present exactly
 * when its flag is set (and `inner` has it); `disconnect` is forwarded untouched.
 */
export function wrapDevice(
  inner: BlockDevice,
  around: (op: DeviceOperation, args: readonly unknown[], call: () => Promise<unknown>) => Promise<unknown>,
): BlockDevice {
  const methods: Record<string, unknown> = { disconnect: () => inner.disconnect() };
  for (const op of OPS) {
    const method = (inner as unknown as Record<string, unknown>)[op];
    if (typeof method !== 'function') continue;
    methods[op] = (...args: unknown[]) => around(op, args, () => (method as (...a: unknown[]) => Promise<unknown>).apply(inner, args));
  }
  return exposeDevice(inner.supports, methods as unknown as DeviceMethods);
}
