import { BlockError, deviceBytes, type BlockDevice } from '@blk/core';
import { DevicePair } from './device-pair.js';
import { exposeMirror, type Mirror } from './mirror.js';
import { MirrorDevice } from './mirror-device.js';
import { resolveOptions, type MirrorOptions } from './options.js';

/**
 * Starts mirroring `primary` onto `secondary` and returns at once with a device that serves all
 * I/O from the primary while a background copy makes the secondary an exact mirror; client
 * changes go to both. Existing data on the secondary is overwritten.
 *
 * Rejects before anything is read or written: INVALID_ARGUMENT when the larger sector size is not
 * a multiple of the smaller, when the byte lengths differ, when both are the same device or the
 * options are malformed; READ_ONLY when the secondary is not writable.
 */
export async function connect(primary: BlockDevice, secondary: BlockDevice, options: MirrorOptions = {}): Promise<Mirror> {
  const resolved = resolveOptions(options);
  if (primary === secondary) throw new BlockError('INVALID_ARGUMENT', 'mirror: primary and secondary are the same device');
  const [primaryInfo, secondaryInfo] = await Promise.all([primary.getInfo(), secondary.getInfo()]);
  const larger = Math.max(primaryInfo.sectorSize, secondaryInfo.sectorSize);
  const smaller = Math.min(primaryInfo.sectorSize, secondaryInfo.sectorSize);
  if (larger % smaller !== 0) {
    throw new BlockError('INVALID_ARGUMENT', `mirror: sector size ${larger} is not a multiple of ${smaller}`);
  }
  const bytes = deviceBytes(primaryInfo);
  const secondaryBytes = deviceBytes(secondaryInfo);
  if (bytes !== secondaryBytes) {
    throw new BlockError('INVALID_ARGUMENT', `mirror: primary is ${bytes} bytes but secondary is ${secondaryBytes}`);
  }
  if (!secondaryInfo.readWrite || !secondary.supports.write) throw BlockError.readOnly('mirror secondary');
  return exposeMirror(new MirrorDevice(new DevicePair(primary, primaryInfo, secondary, secondaryInfo), resolved));
}
