import { crc32 } from './crc32.js';
import { FmapError } from './fmap-error.js';

/*
 * One node of an fmap device's block map: a whole BlockFile block, little-endian.
 *
 *   0  magic "BLKTMAP\0"
 *   8  u16 level (0 = leaf: entries are data blocks; above: entries are map blocks)
 *  10  u16 reserved (0)
 *  12  u32 non-zero entries
 *  16  u64 first unit the node covers
 *  24  u32 CRC-32 of [0,24) and [32, end)
 *  28  u32 reserved (0)
 *  32  u64 entries… (byte offsets of blocks; 0 = none)
 */

const MAGIC = Uint8Array.from(Buffer.from('BLKTMAP\0', 'latin1'));
const FIXED = 32;

/** Entries in one map block. */
export function mapFanout(blockSize: number): number {
  return (blockSize - FIXED) / 8;
}

export interface MapBlock {
  readonly level: number;
  readonly first: number;
  readonly entries: Float64Array;
}

function checksum(bytes: Uint8Array): number {
  return crc32(bytes.subarray(FIXED), crc32(bytes.subarray(0, 24)));
}

export function encodeMapBlock(bytes: Uint8Array, block: MapBlock): void {
  bytes.fill(0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  bytes.set(MAGIC, 0);
  view.setUint16(8, block.level, true);
  let used = 0;
  const { entries } = block;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    if (entry === 0) continue;
    used++;
    view.setUint32(FIXED + 8 * i, entry % 2 ** 32, true);
    view.setUint32(FIXED + 8 * i + 4, Math.floor(entry / 2 ** 32), true);
  }
  view.setUint32(12, used, true);
  view.setBigUint64(16, BigInt(block.first), true);
  view.setUint32(24, checksum(bytes), true);
}

/** Decodes a map block read at `at`; throws E_CHECKSUM or E_CORRUPT, never anything else. */
export function decodeMapBlock(bytes: Uint8Array, at: number, path: string): MapBlock & { readonly used: number } {
  if (!MAGIC.every((byte, i) => bytes[i] === byte)) throw new FmapError('E_CORRUPT', `${path}: block ${at} is not a map block`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(24, true) !== checksum(bytes)) throw new FmapError('E_CHECKSUM', `${path}: map block ${at} fails its checksum`);
  const entries = new Float64Array(mapFanout(bytes.length));
  let used = 0;
  for (let i = 0; i < entries.length; i++) {
    // two u32 halves: a BigInt per entry makes opening a large map several times slower
    const low = view.getUint32(FIXED + 8 * i, true);
    const high = view.getUint32(FIXED + 8 * i + 4, true);
    if (low === 0 && high === 0) continue;
    if (high >= 2 ** 21) throw new FmapError('E_CORRUPT', `${path}: map block ${at} entry ${i} is not a safe integer`);
    entries[i] = high * 2 ** 32 + low;
    used++;
  }
  if (used !== view.getUint32(12, true))
    throw new FmapError('E_CORRUPT', `${path}: map block ${at} counts ${view.getUint32(12, true)} entries but holds ${used}`);
  const first = view.getBigUint64(16, true);
  if (first > BigInt(Number.MAX_SAFE_INTEGER)) throw new FmapError('E_CORRUPT', `${path}: map block ${at} starts at unit ${first}`);
  return { level: view.getUint16(8, true), first: Number(first), entries, used };
}
