import { BlockError } from '@blk/core';
import { acquireCluster } from './cluster-pool.js';
import { openError } from './connect.js';
import { requireNative } from './native-binding.js';
import { errnoOf, rbdError } from './rbd-errors.js';
import { checkImageOptions, type RbdImageOptions } from './rbd-options.js';

export interface RbdCreateOptions {
  /** The image's size in bytes. */
  readonly sizeBytes: number;
  /** Object size in bytes: a power of two from 4 KiB to 32 MiB (default 4 MiB). */
  readonly objectSize?: number;
  /** RBD feature bits (librbd's RBD_FEATURE_*; default: the cluster's `rbd_default_features`). */
  readonly features?: number;
}

/** Creates an image. Rejects INVALID_ARGUMENT when it exists already or the pool does not exist. */
export async function create(options: RbdImageOptions, { sizeBytes, objectSize, features }: RbdCreateOptions): Promise<void> {
  checkImageOptions(options);
  if (typeof sizeBytes !== 'number' || !Number.isSafeInteger(sizeBytes) || sizeBytes < 0) {
    throw new BlockError('INVALID_ARGUMENT', 'sizeBytes must be a non-negative safe integer');
  }
  let order = 0;
  if (objectSize !== undefined) {
    order = Math.log2(objectSize);
    if (!Number.isInteger(order) || order < 12 || order > 25)
      throw new BlockError('INVALID_ARGUMENT', 'objectSize must be a power of two from 4 KiB to 32 MiB');
  }
  if (features !== undefined && (!Number.isSafeInteger(features) || features < 0))
    throw new BlockError('INVALID_ARGUMENT', 'features must be a non-negative integer');
  const native = requireNative();
  const { cluster, release } = await acquireCluster(options);
  try {
    await native.createImage(cluster, options.pool, options.namespace ?? null, options.image, sizeBytes, order, features ?? null);
  } catch (error) {
    if (errnoOf(error) === 'EEXIST')
      throw new BlockError('INVALID_ARGUMENT', `image '${options.image}' already exists in pool '${options.pool}'`, { cause: error });
    if (errnoOf(error) === 'ENOENT') throw openError(error, options.pool, options.image);
    throw rbdError(error, `cannot create rbd image ${options.pool}/${options.image}`);
  } finally {
    await release();
  }
}

/**
 * Removes an image. Rejects INVALID_ARGUMENT when it does not exist, or when it has snapshots
 * and `purgeSnapshots` is not set; IO when another client still has it open.
 */
export async function remove(options: RbdImageOptions, { purgeSnapshots = false }: { purgeSnapshots?: boolean } = {}): Promise<void> {
  checkImageOptions(options);
  const native = requireNative();
  const { cluster, release } = await acquireCluster(options);
  try {
    await native.removeImage(cluster, options.pool, options.namespace ?? null, options.image, purgeSnapshots);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') throw openError(error, options.pool, options.image);
    if (errnoOf(error) === 'ENOTEMPTY')
      throw new BlockError('INVALID_ARGUMENT', `image '${options.image}' has snapshots (pass purgeSnapshots)`, { cause: error });
    throw rbdError(error, `cannot remove rbd image ${options.pool}/${options.image}`);
  } finally {
    await release();
  }
}
