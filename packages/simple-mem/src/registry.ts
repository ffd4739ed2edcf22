import { BlockError, settled } from '@blk/core';
import { ChunkStore } from './chunk-store.js';
import { SimpleMemDevice } from './simple-mem.js';

export interface SimpleMemOptions {
  /** Size in sectors when the device is made (default 32768: 16 MiB at 512 bytes). */
  readonly sizeSectors?: number;
  /** Bytes per sector when the device is made (default 512). */
  readonly sectorSize?: number;
}

const stores = new Map<string, ChunkStore>();

/**
 * A handle on the memory device called `name`. The first `connect` of a name makes the device
 * with the given geometry; later ones return the same device and refuse a different geometry
 * with INVALID_ARGUMENT. Data survives `disconnect` until `destroy(name)`.
 */
export function connect(name: string, options: SimpleMemOptions = {}): Promise<SimpleMemDevice> {
  return settled(() => {
    let store = stores.get(name);
    if (!store) {
      store = new ChunkStore(options.sectorSize ?? 512, options.sizeSectors ?? 32768);
      stores.set(name, store);
    } else if (
      (options.sectorSize !== undefined && options.sectorSize !== store.sectorSize) ||
      (options.sizeSectors !== undefined && options.sizeSectors !== store.sizeSectors)
    ) {
      throw new BlockError(
        'INVALID_ARGUMENT',
        `memory device '${name}' exists as ${store.sizeSectors} × ${store.sectorSize} bytes; destroy it first to change its geometry`,
      );
    }
    return new SimpleMemDevice(name, store);
  });
}

/** Drops the named device's data; handles still open on it keep the old data until dropped. */
export function destroy(name: string): void {
  stores.delete(name);
}
