import { settled } from '@blk/core';
import { Ramdisk } from './ramdisk.js';
import { RamdiskStore, type RamdiskOptions } from './ramdisk-store.js';

const stores = new Map<string, RamdiskStore>();

/**
 * A handle on the ramdisk called `name`, creating a default 32768 × 512-byte (16 MiB) one if
 * there is none. Every handle of a name shares its data; disconnecting a handle keeps the data.
 */
export function connect(name: string): Promise<Ramdisk> {
  let store = stores.get(name);
  if (!store) {
    store = new RamdiskStore();
    stores.set(name, store);
  }
  return Promise.resolve(new Ramdisk(store));
}

/**
 * Makes a new empty ramdisk called `name` with this geometry, replacing any ramdisk of that name.
 * Handles on the replaced one keep working on its (now nameless) data.
 */
export function create(name: string, options: RamdiskOptions & { sizeSectors: number; sectorSize?: number }): Promise<Ramdisk> {
  return settled(() => {
    const store = new RamdiskStore(options);
    stores.set(name, store);
    return new Ramdisk(store);
  });
}

/**
 * Forgets the name: the next `connect(name)` makes a fresh empty device. Existing handles keep
 * working on the old data until they disconnect; the memory goes when the last one is dropped.
 */
export function destroy(name: string): void {
  stores.delete(name);
}
