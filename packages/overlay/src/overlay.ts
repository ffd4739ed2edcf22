import { BlockError, deviceBytes, type BlockDevice, type CombinatorOptions } from '@blk/core';
import { Child } from './child.js';
import { checkBlockSize, computeLayout, DEFAULT_BLOCK_SIZE } from './layout.js';
import { openTop } from './open-top.js';
import { resolveOptions, type OverlayOptions } from './options.js';
import { OverlayDevice } from './overlay-device.js';

/** A copy-on-write BlockDevice over a base, keeping its changes in a top. */
export interface Overlay extends BlockDevice {
  /** The copy-on-write unit in bytes. */
  readonly blockSize: number;
  /** Blocks the top holds data for, and blocks it shadows with zeroes (as in memory now). */
  readonly changes: { readonly dataBlocks: number; readonly zeroBlocks: number };
  /**
   * Writes the changes down into the base (which must be writable), flushes it, then forgets
   * them: afterwards the top holds no changes and the base alone reads as the overlay did.
   * Rejects READ_ONLY when the base or the overlay is read-only.
   */
  commit(options?: CombinatorOptions): Promise<void>;
}

/**
 * A writable device over `base` whose changes go to `top`: reads come from the top where it has
 * taken a block over and from the base elsewhere; partial writes copy the rest of their block up
 * from the base first; `discard` and `writeZeroes` make blocks read zero whatever the base holds.
 * The map of which block is where lives on the top itself, so `overlay(base, top)` again (another
 * process, after a flush or a disconnect) gives the same disk. A blank (all-zero header) writable
 * top is formatted; a top that is too small is grown when it can `resize`.
 *
 * Rejects INVALID_ARGUMENT when the two are the same device, their sector sizes do not divide one
 * another, or the options are malformed, and an `OverlayError` (a BlockError with a `reason`)
 * when the top holds something else or was made for another base.
 */
export async function overlay(base: BlockDevice, top: BlockDevice, options: OverlayOptions = {}): Promise<Overlay> {
  const resolved = resolveOptions(options);
  if (base === top) throw new BlockError('INVALID_ARGUMENT', 'overlay: base and top are the same device');
  const [baseInfo, topInfo] = await Promise.all([base.getInfo(), top.getInfo()]);
  const sectorSize = Math.max(baseInfo.sectorSize, topInfo.sectorSize);
  if (sectorSize % baseInfo.sectorSize !== 0 || sectorSize % topInfo.sectorSize !== 0) {
    throw new BlockError(
      'INVALID_ARGUMENT',
      `overlay: sector sizes ${baseInfo.sectorSize} and ${topInfo.sectorSize} do not divide one another`,
    );
  }
  const sizeBytes = deviceBytes(baseInfo);
  if (sizeBytes % sectorSize !== 0) {
    throw new BlockError('INVALID_ARGUMENT', `overlay: the ${sizeBytes}-byte base is not a whole number of ${sectorSize}-byte sectors`);
  }
  const topChild = new Child('top', top, topInfo);
  const { layout, map } = await openTop(topChild, sizeBytes, sectorSize, resolved.blockSize);
  const device = new OverlayDevice({
    base: new Child('base', base, baseInfo),
    top: topChild,
    layout,
    map,
    disconnectChildren: resolved.disconnectChildren,
  });
  return expose(device);
}

/** The public face: optional methods exist exactly when their flag is set. */
function expose(device: OverlayDevice): Overlay {
  const flags = device.supports;
  const face: Overlay = {
    supports: flags,
    blockSize: device.blockSize,
    get changes() {
      return device.changes;
    },
    getInfo: () => device.getInfo(),
    read: (sector, buffers) => device.read(sector, buffers),
    write: (sector, buffers) => device.write(sector, buffers),
    commit: (options) => device.commit(options),
    disconnect: () => device.disconnect(),
    seekMapped: (sector) => device.seekMapped(sector),
    seekUnmapped: (sector) => device.seekUnmapped(sector),
  };
  if (flags.flush) face.flush = () => device.flush();
  if (flags.discard) face.discard = (sector, count) => device.discard(sector, count);
  if (flags.writeZeroes) face.writeZeroes = (sector, count) => device.writeZeroes(sector, count);
  return face;
}

/**
 * The least size in bytes of a top for a base of `baseBytes`: header, map and room for a copy of
 * every block. `sectorSize` is the larger of the base's and the top's (default 512).
 */
export function overlayTopBytes(baseBytes: number, options: { readonly sectorSize?: number; readonly blockSize?: number } = {}): number {
  const sectorSize = options.sectorSize ?? 512;
  const blockSize = options.blockSize ?? Math.max(DEFAULT_BLOCK_SIZE, sectorSize);
  checkBlockSize(blockSize, sectorSize);
  if (!Number.isSafeInteger(baseBytes) || baseBytes < 0 || baseBytes % sectorSize !== 0) {
    throw new BlockError('INVALID_ARGUMENT', `overlay: base size ${baseBytes} is not a whole number of ${sectorSize}-byte sectors`);
  }
  return computeLayout(baseBytes, sectorSize, blockSize).topBytes;
}
