import { access } from 'node:fs/promises';
import { readOnlyView, type BlockDevice } from '@blk/core';
import { openFileDevice, openFmapDevice } from '@blk/fmap';
import { connect as connectHttp } from '@blk/http';
import { connect as connectNbd } from '@blk/nbd';
import { Ramdisk } from '@blk/ramdisk';
import { connect as connectSimpleMem, destroy as destroySimpleMem } from '@blk/simple-mem';
import { CliError } from './cli-error.js';
import { formatDeviceSpec, type DeviceSpec, type HttpSpec, type NbdSpec, type PathSpec } from './device-spec.js';
import { describeError } from './describe-error.js';
import { openOverlay } from './open-overlay.js';
import { openRbd } from './open-rbd.js';
import { opened, type OpenedDevice } from './opened-device.js';

export type { OpenedDevice } from './opened-device.js';

export interface OpenOptions {
  /** Open read-only: writes are refused with READ_ONLY. */
  readonly readOnly?: boolean;
  /** A `file:` or `fmap:` that does not exist is created with this many bytes (never truncates an existing one). */
  readonly createBytes?: number;
  /** The sector size of an `fmap:` created for `createBytes` (default 512; a `file:` always has 512). */
  readonly createSectorSize?: number;
  /**
   * Only look: a `file:` is opened read-write without taking its lock (so `info` reports it
   * writable), falling back to read-only when it cannot be written.
   */
  readonly probe?: boolean;
  /**
   * Take a writable `file:`'s lock (default true). False when the caller already holds it: a
   * `blk serve` worker process opening the file its parent locked.
   */
  readonly lock?: boolean | undefined;
  /** Connections an `nbd:` SPEC opens (more than one only when the server allows multi-conn; default 1). */
  readonly nbdConnections?: number | undefined;
}

let memorySerial = 0;

async function openFile(spec: PathSpec, options: OpenOptions): Promise<OpenedDevice> {
  const readOnly = options.readOnly === true;
  const create = !readOnly && options.createBytes !== undefined;
  if (create && options.createBytes % 512 !== 0) {
    throw new CliError(`cannot create ${spec.path}: ${options.createBytes} bytes is not a whole number of 512-byte sectors`);
  }
  const existed =
    !create ||
    (await access(spec.path).then(
      () => true,
      () => false,
    ));
  try {
    if (options.probe === true && !readOnly) {
      const device = await openFileDevice(spec.path, { readOnly: false, lock: false }).catch(() =>
        openFileDevice(spec.path, { readOnly: true }),
      );
      return opened(spec, device);
    }
    const device = await openFileDevice(spec.path, {
      readOnly,
      lock: !readOnly && options.lock !== false,
      ...(create ? { create: true, sizeSectors: options.createBytes / 512 } : {}),
    });
    return opened(spec, device, { created: !existed, path: spec.path });
  } catch (error) {
    throw new CliError(`cannot open ${formatDeviceSpec(spec)}: ${describeError(error)}`, undefined, { cause: error });
  }
}

/** An fmap device: opened with its lock (read-only too), created with the given size and sector size when missing. */
async function openFmap(spec: PathSpec, options: OpenOptions): Promise<OpenedDevice> {
  const readOnly = options.readOnly === true;
  const bytes = readOnly ? undefined : options.createBytes;
  const sectorSize = options.createSectorSize ?? 512;
  if (bytes !== undefined && bytes % sectorSize !== 0) {
    throw new CliError(`cannot create ${spec.path}: ${bytes} bytes is not a whole number of ${sectorSize}-byte sectors`);
  }
  const existed =
    bytes === undefined ||
    (await access(spec.path).then(
      () => true,
      () => false,
    ));
  try {
    const device = await openFmapDevice(spec.path, {
      readOnly,
      ...(bytes === undefined ? {} : { create: { sizeSectors: bytes / sectorSize, sectorSize } }),
    });
    return opened(spec, device, { created: !existed, path: spec.path });
  } catch (error) {
    throw new CliError(`cannot open ${formatDeviceSpec(spec)}: ${describeError(error)}`, undefined, { cause: error });
  }
}

async function openNbd(spec: NbdSpec, options: OpenOptions): Promise<OpenedDevice> {
  let device: BlockDevice;
  try {
    device = await connectNbd({ uri: spec.uri, connections: options.nbdConnections });
  } catch (error) {
    throw new CliError(`cannot open ${spec.uri}: ${describeError(error)}`, undefined, { cause: error });
  }
  return opened(spec, options.readOnly === true ? readOnlyView(device) : device);
}

/** An image on a web server: always read-only, whatever the command asked for. */
async function openHttp(spec: HttpSpec): Promise<OpenedDevice> {
  try {
    return opened(spec, await connectHttp(spec.url));
  } catch (error) {
    throw new CliError(`cannot open ${spec.url}: ${describeError(error)}`, undefined, { cause: error });
  }
}

/** Opens the device a SPEC names. Fails with a CliError saying which SPEC and why. */
export async function openDevice(spec: DeviceSpec, options: OpenOptions = {}): Promise<OpenedDevice> {
  const view = (device: BlockDevice) => (options.readOnly === true ? readOnlyView(device) : device);
  switch (spec.kind) {
    case 'ram': {
      const device = new Ramdisk({ sizeSectors: spec.bytes / spec.sectorSize, sectorSize: spec.sectorSize });
      return opened(spec, view(device));
    }
    case 'mem': {
      const name = `blk-cli-${process.pid}-${++memorySerial}`;
      const device = await connectSimpleMem(name, { sizeSectors: spec.bytes / spec.sectorSize, sectorSize: spec.sectorSize });
      return opened(spec, view(device), { after: () => destroySimpleMem(name) });
    }
    case 'file':
      return openFile(spec, options);
    case 'fmap':
      return openFmap(spec, options);
    case 'nbd':
      return openNbd(spec, options);
    case 'http':
      return openHttp(spec);
    case 'rbd':
      return openRbd(spec, options);
    case 'overlay':
      return openOverlay(spec, options, openDevice);
  }
}
