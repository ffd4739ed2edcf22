import type { BlockDevice, BlockInfo } from '@blk/core';
import { TransmissionFlag as F } from './constants.js';
import type { BlockSizes } from './option-codec.js';

/**
 * Transmission flags from the device's `supports` and geometry:
 * - FLUSH always (a device without `flush` has nothing to make durable), FUA on writable exports
 *   (a flush after the write when the device can flush);
 * - TRIM when the device can discard; WRITE_ZEROES and FAST_ZERO on writable exports (zeroing
 *   falls back to writes, and FAST_ZERO then answers ENOTSUP as the protocol asks);
 * - DF only with structured replies; CACHE (accepted, a no-op);
 * - CAN_MULTI_CONN when `supports.concurrent`: every connection reaches the same device object,
 *   so a flush on one covers writes acknowledged on all.
 */
export function transmissionFlags(device: BlockDevice, info: BlockInfo, structured: boolean): number {
  let flags = F.HAS_FLAGS | F.SEND_FLUSH | F.SEND_CACHE;
  if (!info.readWrite) flags |= F.READ_ONLY;
  else {
    flags |= F.SEND_FUA | F.SEND_WRITE_ZEROES | F.SEND_FAST_ZERO;
    if (device.supports.discard) flags |= F.SEND_TRIM;
  }
  if (structured) flags |= F.SEND_DF;
  if (device.supports.concurrent) flags |= F.CAN_MULTI_CONN;
  return flags;
}

/** Minimum = the sector size (smaller requests get EINVAL), preferred ≥ 4096, maximum = the payload cap in whole sectors. */
export function blockSizes(info: BlockInfo, maxPayload: number): BlockSizes {
  const minimum = info.sectorSize;
  const preferred = Math.max(4096, minimum);
  return { minimum, preferred, maximum: Math.max(preferred, Math.floor(maxPayload / minimum) * minimum) };
}

/** True when zeroing does not fall back to writing zeroes (what FAST_ZERO asks). */
export function canZeroFast(device: BlockDevice): boolean {
  return device.supports.writeZeroes || (device.supports.discard && device.supports.discardZeroes);
}
