import { isBlockError, type BlockDevice } from '@blk/core';
import { CliError } from './cli-error.js';
import { describeError } from './describe-error.js';
import { formatDeviceSpec } from './device-spec.js';
import type { OpenOptions } from './open-device.js';
import { opened, type OpenedDevice } from './opened-device.js';
import type { RbdSpec } from './rbd-spec.js';

/** @blk/rbd is an optional peer: only `rbd:` SPECs need it (and librbd under it). */
async function importRbd(): Promise<typeof import('@blk/rbd')> {
  try {
    return await import('@blk/rbd');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND' || !(error as Error).message.includes('@blk/rbd')) throw error;
    throw new Error('rbd: SPECs need @blk/rbd beside @blk/cli (npm install @blk/rbd; it builds against librbd-dev)', { cause: error });
  }
}

/**
 * An RBD image through @blk/rbd, loaded only here: without librbd (its addon not built) every
 * other SPEC still works and this one says what to install. A missing image is created when
 * `createBytes` is given (`blk copy … rbd:pool/new`).
 */
export async function openRbd(spec: RbdSpec, options: OpenOptions): Promise<OpenedDevice> {
  const where = formatDeviceSpec(spec);
  try {
    const rbd = await importRbd();
    const image = {
      pool: spec.pool,
      image: spec.image,
      namespace: spec.namespace,
      conf: spec.conf,
      clientName: spec.id,
      keyring: spec.keyring,
    };
    const readOnly = options.readOnly === true || spec.snapshot !== undefined;
    const open = () => rbd.connect({ ...image, readOnly, snapshot: spec.snapshot });
    let created = false;
    let device: BlockDevice;
    try {
      device = await open();
    } catch (error) {
      const bytes = options.createBytes;
      if (readOnly || bytes === undefined || !(error instanceof Error) || !/image '.*' does not exist/.test(error.message)) throw error;
      await rbd.create(image, { sizeBytes: bytes });
      created = true;
      device = await open();
    }
    const result = opened(spec, device, { created });
    if (!created) return result;
    return {
      ...result,
      discardCreated: async () => {
        await result.close();
        await rbd.remove(image).catch(() => undefined);
      },
    };
  } catch (error) {
    // @blk/rbd's messages name the pool/image/config; the errno underneath is librbd's, not a file's
    const why = isBlockError(error) ? `${error.message} (${error.code})` : describeError(error);
    throw new CliError(`cannot open ${where}: ${why}`, undefined, { cause: error });
  }
}
