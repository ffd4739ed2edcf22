import { FmapError } from './fmap-error.js';

/*
 * An fmap device keeps its superblock in the BlockFile's control data (so it is committed with
 * the header, CRC included). Little-endian, 64 bytes:
 *
 *   0  magic "BLKTHIN\0"
 *   8  u16 version (1)
 *  10  u16 flags (0)
 *  12  u32 sector size
 *  16  u64 size in sectors
 *  24  u64 map root block (0 = nothing mapped)
 *  32  u32 map height (levels, at least 1)
 *  36  u32 reserved (0)
 *  40  u64 mapped units
 *  48  u64 map blocks
 *  56  u64 generation (device commits so far)
 *
 * A unit (the allocation granule) is one block of the BlockFile.
 */

export const DEVICE_FORMAT_VERSION = 1;
export const SUPERBLOCK_BYTES = 64;
const MAGIC = Uint8Array.from(Buffer.from('BLKTHIN\0', 'latin1'));

export interface Superblock {
  readonly sectorSize: number;
  readonly sizeSectors: number;
  readonly root: number;
  readonly height: number;
  readonly mappedUnits: number;
  readonly mapBlocks: number;
  readonly generation: number;
}

export function encodeSuperblock(sb: Superblock): Uint8Array {
  const bytes = new Uint8Array(SUPERBLOCK_BYTES);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  view.setUint16(8, DEVICE_FORMAT_VERSION, true);
  view.setUint32(12, sb.sectorSize, true);
  view.setBigUint64(16, BigInt(sb.sizeSectors), true);
  view.setBigUint64(24, BigInt(sb.root), true);
  view.setUint32(32, sb.height, true);
  view.setBigUint64(40, BigInt(sb.mappedUnits), true);
  view.setBigUint64(48, BigInt(sb.mapBlocks), true);
  view.setBigUint64(56, BigInt(sb.generation), true);
  return bytes;
}

function u64(view: DataView, at: number, what: string, path: string): number {
  const value = view.getBigUint64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new FmapError('E_CORRUPT', `${path}: device ${what} ${value} is not a safe integer`);
  return Number(value);
}

/**
 * Reads the superblock out of a BlockFile's control data. Throws E_NOT_DEVICE for control data
 * that is not a device's, E_VERSION for a newer format, E_CORRUPT for impossible fields.
 */
export function decodeSuperblock(control: Uint8Array, path: string): Superblock {
  if (control.length === 0)
    throw new FmapError('E_NOT_DEVICE', `${path} is a BlockFile but holds no fmap device (its control data is empty)`);
  if (control.length < SUPERBLOCK_BYTES || !MAGIC.every((byte, i) => control[i] === byte)) {
    throw new FmapError('E_NOT_DEVICE', `${path} is a BlockFile but not an fmap device (its control data belongs to something else)`);
  }
  const view = new DataView(control.buffer, control.byteOffset, control.byteLength);
  const version = view.getUint16(8, true);
  if (version !== DEVICE_FORMAT_VERSION) throw new FmapError('E_VERSION', `${path}: fmap device format ${version} is not supported`);
  if (view.getUint16(10, true) !== 0) throw new FmapError('E_CORRUPT', `${path}: unknown device flags ${view.getUint16(10, true)}`);
  return {
    sectorSize: view.getUint32(12, true),
    sizeSectors: u64(view, 16, 'size', path),
    root: u64(view, 24, 'map root', path),
    height: view.getUint32(32, true),
    mappedUnits: u64(view, 40, 'mapped units', path),
    mapBlocks: u64(view, 48, 'map blocks', path),
    generation: u64(view, 56, 'generation', path),
  };
}
