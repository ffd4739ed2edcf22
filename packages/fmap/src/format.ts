import { crc32 } from './crc32.js';
import { FmapError } from './fmap-error.js';

/*
 * File format v1, little-endian.
 *
 * Two header slots of 4096 bytes at byte 0 and byte 4096, whatever the block size; commit `seq`
 * lives in slot `seq % 2`, so a torn header write can only damage the slot being replaced.
 * User blocks start at FIRST_DATA(blockSize) = 8192 rounded up to a whole block.
 *
 * header slot                          free-list page (one block)
 *   0  magic "BLKFMAP\0"                 0  magic "BLKFREE\0"
 *   8  u16 version (1)                   8  u64 seq of the commit that wrote it
 *  10  u16 flags (0)                    16  u64 next page (0 = last)
 *  12  u32 blockSize                    24  u32 entries in this page
 *  16  u64 seq                          28  u32 CRC-32 of [0,28) + entries
 *  24  u64 free-list head page (0=none) 32  u64 entries…
 *  32  u64 free-list length (entries)
 *  40  u64 high-water mark (bytes)
 *  48  u32 control-data length
 *  52  u32 free-list pages
 *  56  u32 reserved (0)
 *  60  u32 CRC-32 of [0,60) + control data
 *  64  control data (up to 4032 bytes)
 */

export const FORMAT_VERSION = 1;
export const SLOT_BYTES = 4096;
export const SLOT_OFFSETS = [0, SLOT_BYTES] as const;
const HEADER_FIXED = 64;
/** Bytes of control data a BlockFile keeps (fs2 kept 4080, with no length and no checksum). */
export const CONTROL_DATA_CAPACITY = SLOT_BYTES - HEADER_FIXED;
export const MIN_BLOCK_SIZE = 4096;
export const MAX_BLOCK_SIZE = 64 * 1024 * 1024;

const HEADER_MAGIC = Uint8Array.from(Buffer.from('BLKFMAP\0', 'latin1'));
const FREE_MAGIC = Uint8Array.from(Buffer.from('BLKFREE\0', 'latin1'));
const PAGE_FIXED = 32;

export function checkBlockSize(blockSize: unknown): asserts blockSize is number {
  if (
    typeof blockSize !== 'number' ||
    !Number.isSafeInteger(blockSize) ||
    blockSize < MIN_BLOCK_SIZE ||
    blockSize > MAX_BLOCK_SIZE ||
    blockSize % MIN_BLOCK_SIZE !== 0
  ) {
    throw new FmapError('E_BLOCKSIZE', `block size must be a multiple of 4096 from 4096 to 64 MiB, got ${String(blockSize)}`);
  }
}

/** Offset of the first user block. */
export function firstData(blockSize: number): number {
  return Math.ceil((2 * SLOT_BYTES) / blockSize) * blockSize;
}

export function entriesPerPage(blockSize: number): number {
  return (blockSize - PAGE_FIXED) / 8;
}

export interface Header {
  readonly blockSize: number;
  readonly seq: number;
  readonly freeHead: number;
  readonly freeLength: number;
  readonly freePages: number;
  readonly highWater: number;
  readonly control: Uint8Array;
}

function startsWith(bytes: Uint8Array, magic: Uint8Array): boolean {
  for (let i = 0; i < magic.length; i++) if (bytes[i] !== magic[i]) return false;
  return true;
}

function getU64(view: DataView, at: number, what: string): number {
  const value = view.getBigUint64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new FmapError('E_CORRUPT', `${what} ${value} is not a safe integer`);
  return Number(value);
}

export function encodeHeader(header: Header): Uint8Array {
  const bytes = new Uint8Array(SLOT_BYTES);
  const view = new DataView(bytes.buffer);
  bytes.set(HEADER_MAGIC, 0);
  view.setUint16(8, FORMAT_VERSION, true);
  view.setUint16(10, 0, true);
  view.setUint32(12, header.blockSize, true);
  view.setBigUint64(16, BigInt(header.seq), true);
  view.setBigUint64(24, BigInt(header.freeHead), true);
  view.setBigUint64(32, BigInt(header.freeLength), true);
  view.setBigUint64(40, BigInt(header.highWater), true);
  view.setUint32(48, header.control.length, true);
  view.setUint32(52, header.freePages, true);
  bytes.set(header.control, HEADER_FIXED);
  view.setUint32(60, crc32(bytes.subarray(HEADER_FIXED, HEADER_FIXED + header.control.length), crc32(bytes.subarray(0, 60))), true);
  return bytes;
}

/** What one header slot holds: a valid header, or why not. */
export type SlotState =
  | { readonly kind: 'valid'; readonly header: Header }
  | { readonly kind: 'foreign' }
  | { readonly kind: 'version'; readonly version: number }
  | { readonly kind: 'checksum' }
  | { readonly kind: 'corrupt'; readonly reason: string };

/** Decodes a slot read from disk (shorter than SLOT_BYTES when the file is short). */
export function decodeSlot(bytes: Uint8Array, slot: 0 | 1): SlotState {
  if (bytes.length < HEADER_FIXED || !startsWith(bytes, HEADER_MAGIC)) return { kind: 'foreign' };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const controlLength = view.getUint32(48, true);
  if (controlLength > CONTROL_DATA_CAPACITY || HEADER_FIXED + controlLength > bytes.length) return { kind: 'checksum' };
  const expected = view.getUint32(60, true);
  const actual = crc32(bytes.subarray(HEADER_FIXED, HEADER_FIXED + controlLength), crc32(bytes.subarray(0, 60)));
  if (expected !== actual) return { kind: 'checksum' };
  const version = view.getUint16(8, true);
  if (version !== FORMAT_VERSION) return { kind: 'version', version };
  try {
    const blockSize = view.getUint32(12, true);
    checkBlockSize(blockSize);
    const seq = getU64(view, 16, 'seq');
    if (seq % 2 !== slot) return { kind: 'corrupt', reason: `commit ${seq} found in header slot ${slot}` };
    const header: Header = {
      blockSize,
      seq,
      freeHead: getU64(view, 24, 'free-list head'),
      freeLength: getU64(view, 32, 'free-list length'),
      highWater: getU64(view, 40, 'high-water mark'),
      freePages: view.getUint32(52, true),
      control: bytes.slice(HEADER_FIXED, HEADER_FIXED + controlLength),
    };
    if (header.highWater % blockSize !== 0 || header.highWater < firstData(blockSize)) {
      return { kind: 'corrupt', reason: `high-water mark ${header.highWater} is not a block boundary past the header` };
    }
    return { kind: 'valid', header };
  } catch (error) {
    return { kind: 'corrupt', reason: error instanceof Error ? error.message : String(error) };
  }
}

export interface FreePage {
  readonly next: number;
  readonly entries: readonly number[];
}

export function encodeFreePage(blockSize: number, seq: number, next: number, entries: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(blockSize);
  const view = new DataView(bytes.buffer);
  bytes.set(FREE_MAGIC, 0);
  view.setBigUint64(8, BigInt(seq), true);
  view.setBigUint64(16, BigInt(next), true);
  view.setUint32(24, entries.length, true);
  for (let i = 0; i < entries.length; i++) view.setBigUint64(PAGE_FIXED + 8 * i, BigInt(entries[i]!), true);
  const end = PAGE_FIXED + 8 * entries.length;
  view.setUint32(28, crc32(bytes.subarray(PAGE_FIXED, end), crc32(bytes.subarray(0, 28))), true);
  return bytes;
}

export function decodeFreePage(bytes: Uint8Array, seq: number, at: number): FreePage {
  if (!startsWith(bytes, FREE_MAGIC)) throw new FmapError('E_CORRUPT', `block ${at} is not a free-list page`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(24, true);
  if (count > entriesPerPage(bytes.length)) throw new FmapError('E_CHECKSUM', `free-list page ${at} has a bad entry count`);
  const end = PAGE_FIXED + 8 * count;
  if (view.getUint32(28, true) !== crc32(bytes.subarray(PAGE_FIXED, end), crc32(bytes.subarray(0, 28)))) {
    throw new FmapError('E_CHECKSUM', `free-list page ${at} fails its checksum`);
  }
  const pageSeq = getU64(view, 8, 'free-list page seq');
  if (pageSeq !== seq) throw new FmapError('E_CORRUPT', `free-list page ${at} belongs to commit ${pageSeq}, not ${seq}`);
  const entries: number[] = [];
  for (let i = 0; i < count; i++) entries.push(getU64(view, PAGE_FIXED + 8 * i, 'free-list entry'));
  return { next: getU64(view, 16, 'free-list next'), entries };
}
