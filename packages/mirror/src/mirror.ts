import { exposeDevice, type BlockDevice, type BlockError } from '@blk/core';
import type { MirrorDevice, MirrorState } from './mirror-device.js';

/**
 * A BlockDevice that serves I/O from the primary while a background copy makes the secondary an
 * exact mirror of it.
 */
export interface Mirror extends BlockDevice {
  /** `copying` until the copy is done, then `synced`; `failed` for good once a child fails or it is disconnected before syncing. */
  readonly state: MirrorState;
  /** Resolves when the secondary first equals the primary; rejects with the error that made the mirror fail. */
  readonly synced: Promise<void>;
  /** The error behind `failed`, otherwise undefined. */
  readonly error: BlockError | undefined;
}

/** The public face of a MirrorDevice: optional methods exist exactly when their flag is set. */
export function exposeMirror(device: MirrorDevice): Mirror {
  const base = {
    synced: device.synced,
    get state() {
      return device.state;
    },
    get error() {
      return device.error;
    },
  };
  return exposeDevice(
    device.supports,
    {
      getInfo: () => device.getInfo(),
      read: (sector, buffers) => device.read(sector, buffers),
      write: (sector, buffers) => device.write(sector, buffers),
      disconnect: () => device.disconnect(),
      flush: () => device.flush(),
      discard: (sector, count) => device.discard(sector, count),
      writeZeroes: (sector, count) => device.writeZeroes(sector, count),
      seekMapped: (sector) => device.seekMapped(sector),
      seekUnmapped: (sector) => device.seekUnmapped(sector),
    },
    base,
  );
}
