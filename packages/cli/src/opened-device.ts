import { rm } from 'node:fs/promises';
import type { BlockDevice } from '@blk/core';
import type { DeviceSpec } from './device-spec.js';

/** A device opened from a SPEC, with what it takes to let it go. */
export interface OpenedDevice {
  readonly spec: DeviceSpec;
  readonly device: BlockDevice;
  /** True when opening made a new file. */
  readonly created: boolean;
  /** Disconnects (and for `mem:`, frees the memory). Never rejects. */
  readonly close: () => Promise<void>;
  /** Closes, then deletes the file when this open created it. Never rejects. */
  readonly discardCreated: () => Promise<void>;
}

/** Wraps a device opened from `spec`: `close` never rejects and runs once; `after` runs after it. */
export function opened(
  spec: DeviceSpec,
  device: BlockDevice,
  extra: { created?: boolean; path?: string; after?: () => void } = {},
): OpenedDevice {
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await device.disconnect().catch(() => undefined);
      extra.after?.();
    })());
  return {
    spec,
    device,
    created: extra.created === true,
    close,
    discardCreated: async () => {
      await close();
      if (extra.created === true && extra.path !== undefined) await rm(extra.path, { force: true }).catch(() => undefined);
    },
  };
}
