import { BlockError } from '@blk/core';
import { BlockMap } from './block-map.js';
import type { Child } from './child.js';
import { decodeHeader, encodeHeader } from './header.js';
import { checkBlockSize, computeLayout, DEFAULT_BLOCK_SIZE, type Layout } from './layout.js';
import { OverlayError } from './overlay-error.js';

/** Bytes of the map read from the top in one request while opening. */
const MAP_READ_BYTES = 1 << 20;

function topBytes(top: Child): number {
  return top.info.sizeSectors * top.info.sectorSize;
}

function tooSmall(top: Child, layout: Layout): OverlayError {
  return new OverlayError(
    'INVALID_ARGUMENT',
    'TOP_TOO_SMALL',
    `the top holds ${topBytes(top)} bytes but needs ${layout.topBytes} (header, map and a copy of every block of the ${layout.sizeBytes}-byte base)`,
  );
}

/** Formats a blank top: the map region zeroed and made durable before the header that points at it. */
async function format(top: Child, layout: Layout): Promise<void> {
  if (topBytes(top) < layout.topBytes) {
    const device = top.device;
    if (!device.supports.resize || !device.resize || layout.topBytes % top.info.sectorSize !== 0) throw tooSmall(top, layout);
    const sizeSectors = layout.topBytes / top.info.sectorSize;
    await device.resize(sizeSectors).catch((cause: unknown) => {
      throw BlockError.io(`overlay top: resize to ${layout.topBytes} bytes failed`, cause);
    });
    top.resized(sizeSectors);
  }
  await top.zero(layout.mapOffset, layout.mapBytes);
  await top.flush();
  await top.write(0, [encodeHeader(layout)]);
  await top.flush();
}

async function loadMap(top: Child, layout: Layout): Promise<BlockMap> {
  const map = new BlockMap(layout.blocks, layout.headerBytes);
  const whole = new Uint8Array(layout.mapBytes);
  for (let at = 0; at < layout.mapBytes; at += MAP_READ_BYTES) {
    await top.read(layout.mapOffset + at, [whole.subarray(at, Math.min(layout.mapBytes, at + MAP_READ_BYTES))]);
  }
  map.load(whole);
  return map;
}

/**
 * Reads the top's header and map, formatting the top first when it is blank and writable.
 * `sizeBytes` and `sectorSize` are the overlay's, from the base and the top.
 */
export async function openTop(
  top: Child,
  sizeBytes: number,
  sectorSize: number,
  blockSize: number | undefined,
): Promise<{ layout: Layout; map: BlockMap }> {
  if (blockSize !== undefined) checkBlockSize(blockSize, sectorSize);
  const fresh = () => computeLayout(sizeBytes, sectorSize, blockSize ?? Math.max(DEFAULT_BLOCK_SIZE, sectorSize));
  const headerBytes = Math.max(4096, sectorSize);
  let layout: Layout | undefined;
  if (topBytes(top) >= headerBytes) {
    const head = new Uint8Array(headerBytes);
    await top.read(0, [head]);
    layout = decodeHeader(head);
  } else if (!top.writable || !top.device.supports.resize) {
    throw tooSmall(top, fresh());
  }
  if (layout === undefined) {
    if (!top.writable)
      throw new OverlayError('READ_ONLY', 'TOP_NOT_FORMATTED', 'the top is blank and read-only, so it cannot be formatted');
    layout = fresh();
    await format(top, layout);
    return { layout, map: new BlockMap(layout.blocks, layout.headerBytes) };
  }
  if (layout.sizeBytes !== sizeBytes) {
    throw new OverlayError(
      'INVALID_ARGUMENT',
      'BASE_SIZE_CHANGED',
      `the top was made for a ${layout.sizeBytes}-byte base, but the base is ${sizeBytes} bytes`,
    );
  }
  if (layout.sectorSize !== sectorSize) {
    throw new OverlayError(
      'INVALID_ARGUMENT',
      'GEOMETRY_MISMATCH',
      `the top was made for ${layout.sectorSize}-byte sectors, but base and top now need ${sectorSize}`,
    );
  }
  if (blockSize !== undefined && blockSize !== layout.blockSize) {
    throw new OverlayError(
      'INVALID_ARGUMENT',
      'GEOMETRY_MISMATCH',
      `the top was formatted with ${layout.blockSize}-byte blocks, not ${blockSize}`,
    );
  }
  if (topBytes(top) < layout.topBytes) throw tooSmall(top, layout);
  return { layout, map: await loadMap(top, layout) };
}
