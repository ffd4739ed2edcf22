import { inject } from 'vitest';
import type { BlockDevice } from '@blk/core';
import type { Missing } from '@blk/test-kit';
import { connect, create, nativeStatus, RbdDevice, remove, type RbdConnectOptions } from '../../src/index.js';

/** The test cluster's conf ('' when there is none) and why RBD tests cannot run here. */
export const conf = inject('cephConf');
export const cephDir = inject('cephDir');
export const pool = 'rbd';

function missing(): Missing {
  const status = nativeStatus();
  if (!status.available) return `@blk/rbd-native is not built: ${status.reason}`;
  const cluster = inject('cephMissing');
  return cluster === '' ? undefined : cluster;
}

export const rbdMissing: Missing = missing();

let counter = 0;

/** A unique image name for this worker. */
export function imageName(prefix = 't'): string {
  return `${prefix}-${process.pid}-${++counter}`;
}

/** Short timeouts so a cluster that stops answering fails tests quickly. */
export const TIMEOUT_SECONDS = 10;

export function imageOptions(image: string): { pool: string; image: string; conf: string; timeoutSeconds: number } {
  return { pool, image, conf, timeoutSeconds: TIMEOUT_SECONDS };
}

/** The image name of a device made by {@link freshDevice}. */
export function imageOf(device: BlockDevice): string {
  if (!(device instanceof RbdDevice)) throw new Error('not an RbdDevice');
  return device.name.split('/')[1]!.split('@')[0]!;
}

const created: string[] = [];

/** Creates a fresh image of `sizeBytes` and opens it; `removeCreated` deletes every one made. */
export async function freshDevice(sizeBytes: number, extra: Partial<RbdConnectOptions> = {}, objectSize?: number): Promise<RbdDevice> {
  const image = imageName();
  await create(imageOptions(image), objectSize === undefined ? { sizeBytes } : { sizeBytes, objectSize });
  created.push(image);
  return connect({ ...imageOptions(image), ...extra });
}

/** Images removed at once by `removeCreated`: each removal is a few cluster round trips. */
const REMOVALS_AT_ONCE = 8;

/**
 * Removes every image `freshDevice` made (errors ignored: the cluster is thrown away after the
 * run). The conformance suite makes over a hundred, so they go several at a time; one by one
 * they outlasted the hook timeout on a loaded machine.
 */
export async function removeCreated(): Promise<void> {
  const images = created.splice(0);
  const removeNext = async (): Promise<void> => {
    for (let image = images.pop(); image !== undefined; image = images.pop()) {
      await remove(imageOptions(image), { purgeSnapshots: true }).catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: REMOVALS_AT_ONCE }, removeNext));
}
