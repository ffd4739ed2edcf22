import { CliError } from './cli-error.js';
import { formatDeviceSpec, type DeviceSpec } from './device-spec.js';
import { openDevice, type OpenedDevice, type OpenOptions } from './open-device.js';

/** SRC and DST of a copy or a mirror, opened and checked. */
export interface OpenedPair {
  readonly src: OpenedDevice;
  readonly dst: OpenedDevice;
  /** SRC's size. */
  readonly bytes: number;
}

export interface PairOptions {
  /** Open SRC read-only (a copy; a mirror that is not served, or served read-only). */
  readonly srcReadOnly: boolean;
  readonly nbdConnections?: OpenOptions['nbdConnections'];
  /** Why DST of `dstBytes` cannot take SRC of `bytes`, or undefined when it can. */
  readonly sizeRefusal: (dstBytes: number, bytes: number) => string | undefined;
  /** Ends the refusal: "nothing was copied". */
  readonly nothingWas: string;
}

/**
 * Opens SRC, then DST (a missing `file:` or `fmap:` DST is created with SRC's size and sector
 * size), and refuses a read-only DST or one of the wrong size with a CliError. On any failure
 * both are closed again and a DST this call created is deleted.
 */
export async function openPair(command: string, srcSpec: DeviceSpec, dstSpec: DeviceSpec, options: PairOptions): Promise<OpenedPair> {
  const nbdConnections = options.nbdConnections;
  const src = await openDevice(srcSpec, { readOnly: options.srcReadOnly, nbdConnections });
  let dst: OpenedDevice | undefined;
  try {
    const srcInfo = await src.device.getInfo();
    const bytes = srcInfo.sizeSectors * srcInfo.sectorSize;
    dst = await openDevice(dstSpec, { createBytes: bytes, createSectorSize: srcInfo.sectorSize, nbdConnections });
    const dstInfo = await dst.device.getInfo();
    const dstBytes = dstInfo.sizeSectors * dstInfo.sectorSize;
    const refuse = (why: string) => new CliError(`${command}: ${why}; nothing was ${options.nothingWas}`);
    if (!dstInfo.readWrite) throw refuse(`${formatDeviceSpec(dstSpec)} is read-only`);
    const tooSmall = options.sizeRefusal(dstBytes, bytes);
    if (tooSmall !== undefined) throw refuse(tooSmall);
    return { src, dst, bytes };
  } catch (error) {
    if (dst?.created === true) await dst.discardCreated();
    await Promise.all([src.close(), dst?.close()]);
    throw error;
  }
}
