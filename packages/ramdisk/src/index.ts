export { Ramdisk } from './ramdisk.js';
export { type RamdiskOptions } from './ramdisk-store.js';
export { connect, create, destroy } from './registry.js';
