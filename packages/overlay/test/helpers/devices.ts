import { join } from 'node:path';
import type { BlockDevice } from '@blk/core';
import { openFileDevice } from '@blk/fmap';
import { Ramdisk } from '@blk/ramdisk';
import { overlay, overlayTopBytes, type Overlay, type OverlayOptions } from '../../src/index.js';

/** A fresh overlay over a zeroed Ramdisk base of `sectors` × `sectorSize`, on a Ramdisk top grown as needed. */
export async function ramOverlay(
  sectors = 256,
  sectorSize = 512,
  options: OverlayOptions = {},
): Promise<{ ov: Overlay; base: Ramdisk; top: Ramdisk }> {
  const base = new Ramdisk({ sizeSectors: sectors, sectorSize });
  const top = new Ramdisk({ sizeSectors: 0, sectorSize });
  const ov = await overlay(base, top, options);
  return { ov, base, top };
}

/** Raw image files `base.img` (zeroed, `sectors` × 512) and `top.img` (blank, big enough) in `dir`. */
export async function fileDevices(
  dir: string,
  sectors: number,
  name = 'disk',
  blockSize?: number,
): Promise<{ base: BlockDevice; top: BlockDevice; paths: [string, string] }> {
  const paths: [string, string] = [join(dir, `${name}-base.img`), join(dir, `${name}-top.img`)];
  const topBytes = overlayTopBytes(sectors * 512, blockSize === undefined ? {} : { blockSize });
  const base = await openFileDevice(paths[0], { create: true, sizeSectors: sectors });
  const top = await openFileDevice(paths[1], { create: true, sizeSectors: topBytes / 512 });
  return { base, top, paths };
}

/** Disconnects the overlay, then its children. */
export async function closeAll(ov: BlockDevice, ...children: BlockDevice[]): Promise<void> {
  await ov.disconnect();
  for (const child of children) await child.disconnect();
}
