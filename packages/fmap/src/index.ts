export { BlockFile, MAX_RUN_BYTES, type BlockFileOptions, type BlockFileStats, type CreateOptions } from './block-file.js';
export { Lease } from './lease.js';
export { FmapError, isFmapError, type FmapErrorCode } from './fmap-error.js';
export { CONTROL_DATA_CAPACITY, FORMAT_VERSION } from './format.js';
export type { EngineKind } from './engine.js';
export { nativeStatus } from './native-binding.js';
export { FileDevice, openFileDevice, type FileDeviceOptions } from './file-device.js';
export {
  DEFAULT_FMAP_BLOCK_SIZE,
  FmapDevice,
  openFmapDevice,
  type FmapCreateOptions,
  type FmapDeviceOptions,
  type FmapDeviceStats,
} from './fmap-device.js';
export { DEVICE_FORMAT_VERSION } from './device-superblock.js';
