import { overlay, overlayTopBytes } from '@blk/overlay';
import { CliError } from './cli-error.js';
import { describeError } from './describe-error.js';
import { formatDeviceSpec } from './device-spec.js';
import type { OpenedDevice, OpenOptions } from './open-device.js';
import type { OverlaySpec } from './overlay-spec.js';

type Open = (spec: OverlaySpec['base'], options: OpenOptions) => Promise<OpenedDevice>;

/**
 * An `overlay:BASE+TOP`: BASE opened read-only, TOP opened as asked (created, when it is a missing
 * `file:` or `fmap:`, with room for a copy of the whole base). Closing disconnects the overlay
 * (which writes its map) before the two devices.
 */
export async function openOverlay(spec: OverlaySpec, options: OpenOptions, open: Open): Promise<OpenedDevice> {
  const readOnly = options.readOnly === true || options.probe === true;
  const base = await open(spec.base, { readOnly: true, nbdConnections: options.nbdConnections });
  let top: OpenedDevice | undefined;
  try {
    const { sectorSize, sizeSectors } = await base.device.getInfo();
    const createBytes = overlayTopBytes(sizeSectors * sectorSize, { sectorSize });
    top = await open(spec.top, {
      readOnly,
      ...(readOnly ? {} : { createBytes, createSectorSize: sectorSize }),
      lock: options.lock,
    });
    const device = await overlay(base.device, top.device);
    const topOpened = top;
    let closing: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closing ??= (async () => {
        await device.disconnect();
        await Promise.all([topOpened.close(), base.close()]);
      })());
    return {
      spec,
      device,
      created: topOpened.created,
      close,
      discardCreated: async () => {
        await close();
        await topOpened.discardCreated();
      },
    };
  } catch (error) {
    await Promise.all([top?.discardCreated(), base.close()]);
    if (error instanceof CliError) throw error;
    throw new CliError(`cannot open ${formatDeviceSpec(spec)}: ${describeError(error)}`, undefined, { cause: error });
  }
}
