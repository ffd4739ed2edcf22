export { BlockFile, MAX_RUN_BYTES, type BlockFileOptions, type BlockFileStats, type CreateOptions } from './block-file.js';
export { Lease } from './lease.js';
export { FmapError, isFmapError, type FmapErrorCode } from './fmap-error.js';
export { CONTROL_DATA_CAPACITY, FORMAT_VERSION } from './format.js';
export type { EngineKind } from './engine.js';
export { nativeStatus } from './native-binding.js';
export { FileDevice } from './file-device.js';
export { openFileDevice, type FileDeviceOptions } from './file-device-open.js';
export { FmapDevice, type FmapDeviceStats } from './fmap-device.js';
export {
  DEFAULT_FMAP_BLOCK_SIZE,
  openFmapDevice,
  type FmapCreateOptions,
  type FmapDeviceOptions,
} from './fmap-device-open.js';
export { DEVICE_FORMAT_VERSION } from './device-superblock.js';
