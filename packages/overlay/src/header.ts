import { crc32 } from './crc32.js';
import { computeLayout, type Layout } from './layout.js';
import { OverlayError } from './overlay-error.js';

/** "BLKOVRLY": the first eight bytes of every top an overlay has formatted. */
export const MAGIC = Uint8Array.from('BLKOVRLY', (c) => c.charCodeAt(0));
export const FORMAT_VERSION = 1;

const CHECKED_BYTES = 60;

/*
 * The header, little-endian, at byte 0 of the top (the rest of the header bytes are zero):
 *   0  magic "BLKOVRLY"       24 sizeBytes   (u64)     48 dataOffset (u64)
 *   8  version (u32) = 1      32 mapOffset   (u64)     56 flags (u32) = 0
 *  12  headerBytes (u32)      40 mapBytes    (u64)     60 CRC-32 of bytes 0..59
 *  16  blockSize (u32)
 *  20  sectorSize (u32)
 */

function setU64(view: DataView, at: number, value: number): void {
  view.setUint32(at, value % 2 ** 32, true);
  view.setUint32(at + 4, Math.floor(value / 2 ** 32), true);
}

function getU64(view: DataView, at: number): number {
  return view.getUint32(at, true) + view.getUint32(at + 4, true) * 2 ** 32;
}

export function encodeHeader(layout: Layout): Uint8Array {
  const bytes = new Uint8Array(layout.headerBytes);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  view.setUint32(8, FORMAT_VERSION, true);
  view.setUint32(12, layout.headerBytes, true);
  view.setUint32(16, layout.blockSize, true);
  view.setUint32(20, layout.sectorSize, true);
  setU64(view, 24, layout.sizeBytes);
  setU64(view, 32, layout.mapOffset);
  setU64(view, 40, layout.mapBytes);
  setU64(view, 48, layout.dataOffset);
  view.setUint32(56, 0, true);
  view.setUint32(60, crc32(bytes.subarray(0, CHECKED_BYTES)), true);
  return bytes;
}

const corrupt = (why: string): OverlayError => new OverlayError('INVALID_ARGUMENT', 'CORRUPT', `the top's header is damaged: ${why}`);

/**
 * Reads a header from the first bytes of a top (at least 64). Returns undefined when they are all
 * zero (a blank top); throws an OverlayError when they are anything but a sound header.
 */
export function decodeHeader(bytes: Uint8Array): Layout | undefined {
  if (!MAGIC.every((b, i) => bytes[i] === b)) {
    if (bytes.every((b) => b === 0)) return undefined;
    throw new OverlayError(
      'INVALID_ARGUMENT',
      'NOT_AN_OVERLAY',
      'the top device holds something other than an overlay (no BLKOVRLY header, and not blank)',
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== FORMAT_VERSION) {
    throw new OverlayError(
      'INVALID_ARGUMENT',
      'UNSUPPORTED_VERSION',
      `the top was formatted with version ${version}; this build reads version ${FORMAT_VERSION}`,
    );
  }
  if (view.getUint32(60, true) !== crc32(bytes.subarray(0, CHECKED_BYTES))) throw corrupt('checksum mismatch');
  const blockSize = view.getUint32(16, true);
  const sectorSize = view.getUint32(20, true);
  const sizeBytes = getU64(view, 24);
  const sane = (n: number) => Number.isSafeInteger(n) && n > 0 && (n & (n - 1)) === 0;
  if (!sane(blockSize) || !sane(sectorSize) || blockSize < sectorSize || !Number.isSafeInteger(sizeBytes) || sizeBytes % sectorSize !== 0) {
    throw corrupt(`block size ${blockSize}, sector size ${sectorSize}, size ${sizeBytes}`);
  }
  const layout = computeLayout(sizeBytes, sectorSize, blockSize);
  const stored = [view.getUint32(12, true), getU64(view, 32), getU64(view, 40), getU64(view, 48), view.getUint32(56, true)];
  const expected = [layout.headerBytes, layout.mapOffset, layout.mapBytes, layout.dataOffset, 0];
  if (stored.some((v, i) => v !== expected[i])) throw corrupt('its offsets disagree with its sizes');
  return layout;
}
