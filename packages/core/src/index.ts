export type { BlockDevice, BlockInfo, SeekableBlockDevice } from './block-device.js';
export { isSeekable } from './block-device.js';
export { BLOCK_ERROR_CODES, BlockError, isBlockError, thrownMessage, toBlockError, type BlockErrorCode } from './block-error.js';
export {
  OPTIONAL_METHODS,
  READ_ONLY_FALSE_FLAGS,
  SUPPORT_FLAGS,
  dropUnsupportedMethods,
  supports,
  type OptionalMethod,
  type SupportFlag,
  type Supports,
} from './supports.js';
export { checkRange, checkRequest, checkResize, checkSectorSize, checkSeek, totalBytes } from './request-check.js';
export type { CombinatorOptions } from './combinator-options.js';
export { copy, type CopyOptions } from './copy.js';
export { compare, type CompareOptions } from './compare.js';
export { extentAt, extents, type Extent } from './extents.js';
export { exposeDevice, type DeviceMethods } from './expose-device.js';
export { readOnlyView } from './read-only-view.js';
export { RegionLock, type Release } from './region-lock.js';
export { settled } from './settled.js';
export { runPool } from './worker-pool.js';
export { ensureZero, zeroRange } from './zero-range.js';
export { deviceBytes, lcm } from './sector-math.js';
export { compareBytes, concatBytes, copyBytes, sameBytes } from './bytes.js';
export { nextTurn, sleep } from './event-loop.js';
export { forEachUnit } from './units.js';
