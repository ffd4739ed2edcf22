import { BlockError } from '@blk/core';
import { acquireCluster } from './cluster-pool.js';
import { requireNative } from './native-binding.js';
import { errnoOf, rbdError } from './rbd-errors.js';
import { RbdDevice } from './rbd-device.js';
import { checkImageOptions, type RbdImageOptions } from './rbd-options.js';

export interface RbdConnectOptions extends RbdImageOptions {
  /** Open this snapshot of the image: a read-only device of the image as it was then. */
  readonly snapshot?: string | undefined;
  /** Open read-only (implied by `snapshot`). */
  readonly readOnly?: boolean;
  /** 512 (default) or 4096. */
  readonly sectorSize?: 512 | 4096;
}

/** Opens an RBD image as a BlockDevice. Rejects INVALID_ARGUMENT for a pool, image or snapshot that does not exist. */
export async function connect(options: RbdConnectOptions): Promise<RbdDevice> {
  checkImageOptions(options);
  const sectorSize: number = options.sectorSize ?? 512;
  if (sectorSize !== 512 && sectorSize !== 4096)
    throw new BlockError('INVALID_ARGUMENT', `sectorSize must be 512 or 4096, got ${String(sectorSize)}`);
  const snapshot = options.snapshot;
  if (snapshot !== undefined && (typeof snapshot !== 'string' || snapshot.length === 0 || /[@/\0]/.test(snapshot))) {
    throw new BlockError('INVALID_ARGUMENT', `snapshot must be a non-empty string without '@', '/' or NUL`);
  }
  const native = requireNative();
  const { cluster, release } = await acquireCluster(options);
  const readOnly = snapshot !== undefined || options.readOnly === true;
  const device = new RbdDevice({
    native,
    pool: options.pool,
    namespace: options.namespace,
    image: options.image,
    snapshot,
    readOnly,
    sectorSize,
    release,
  });
  try {
    const [image, sizeBytes] = await native.open(
      cluster,
      options.pool,
      options.namespace ?? null,
      options.image,
      snapshot ?? null,
      readOnly,
      device.onComplete,
      device.completionBuffer,
    );
    device.attach(image, sizeBytes);
  } catch (error) {
    await release();
    throw openError(error, options.pool, options.image, snapshot);
  }
  return device;
}

/** Why an image could not be opened, naming what does not exist. */
export function openError(error: unknown, pool: string, image: string, snapshot?: string): BlockError {
  if (errnoOf(error) === 'ENOENT') {
    const what = (error as Error).message.startsWith('rados_ioctx_create')
      ? `pool '${pool}' does not exist`
      : snapshot !== undefined
        ? `image '${image}' or its snapshot '${snapshot}' does not exist in pool '${pool}'`
        : `image '${image}' does not exist in pool '${pool}'`;
    return new BlockError('INVALID_ARGUMENT', what, { cause: error });
  }
  return rbdError(error, `cannot open rbd image ${pool}/${image}${snapshot ? `@${snapshot}` : ''}`);
}
