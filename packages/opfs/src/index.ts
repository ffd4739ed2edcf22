export { openOpfsDevice, removeOpfsDevice, type OpfsOptions } from './open.js';
export type { OpfsDirectoryHandle } from './opfs-api.js';
