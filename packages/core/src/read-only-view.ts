import type { BlockDevice, BlockInfo } from './block-device.js';
import { BlockError } from './block-error.js';
import { READ_ONLY_FALSE_FLAGS, supports } from './supports.js';

/**
 * The same device, read-only: `readWrite` false, writes rejected with READ_ONLY (after the
 * device's own DISCONNECTED check), discard/writeZeroes/resize absent. Reads, flush and seeks
 * pass through; disconnecting the view disconnects the device.
 */
export function readOnlyView(device: BlockDevice): BlockDevice {
  const flags = supports({ ...device.supports, ...Object.fromEntries(READ_ONLY_FALSE_FLAGS.map((flag) => [flag, false])) });
  const view: BlockDevice = {
    supports: flags,
    getInfo: async (): Promise<BlockInfo> => ({ ...(await device.getInfo()), readWrite: false }),
    read: (sector, buffers) => device.read(sector, buffers),
    write: async () => {
      await device.getInfo();
      throw BlockError.readOnly();
    },
    disconnect: () => device.disconnect(),
  };
  if (flags.flush && device.flush) view.flush = () => device.flush!();
  if (flags.seek && device.seekMapped && device.seekUnmapped) {
    view.seekMapped = (sector) => device.seekMapped!(sector);
    view.seekUnmapped = (sector) => device.seekUnmapped!(sector);
  }
  return view;
}
