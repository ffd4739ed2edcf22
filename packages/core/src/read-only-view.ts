import type { BlockDevice, BlockInfo } from './block-device.js';
import { BlockError } from './block-error.js';
import { exposeDevice } from './expose-device.js';
import { READ_ONLY_FALSE_FLAGS, supports } from './supports.js';

/**
 * The same device, read-only: `readWrite` false, writes rejected with READ_ONLY (after the
 * device's own DISCONNECTED check), discard/writeZeroes/resize absent. Reads, flush and seeks
 * pass through; disconnecting the view disconnects the device.
 */
export function readOnlyView(device: BlockDevice): BlockDevice {
  const flags = supports({ ...device.supports, ...Object.fromEntries(READ_ONLY_FALSE_FLAGS.map((flag) => [flag, false])) });
  const seek = typeof device.seekMapped === 'function' && typeof device.seekUnmapped === 'function';
  return exposeDevice(flags, {
    getInfo: async (): Promise<BlockInfo> => ({ ...(await device.getInfo()), readWrite: false }),
    read: (sector, buffers) => device.read(sector, buffers),
    write: async () => {
      await device.getInfo();
      throw BlockError.readOnly();
    },
    disconnect: () => device.disconnect(),
    flush: typeof device.flush === 'function' ? () => device.flush!() : undefined,
    seekMapped: seek ? (sector) => device.seekMapped!(sector) : undefined,
    seekUnmapped: seek ? (sector) => device.seekUnmapped!(sector) : undefined,
  });
}
