import { BlkifOp, MAX_DIRECT_SEGMENTS, MAX_INDIRECT_PAGES } from './blkif-constants.js';

// The x86_64 blkif ABI (blkif.h): byte offsets within a 112-byte ring slot. Every multi-byte field
// is little-endian. 64-bit fields are handled as two u32 halves so that the hot path needs no BigInt.

/** Size of one ring slot: the union of request and response, x86_64 layout. */
export const SLOT_SIZE = 112;
/** Size of a segment descriptor, in a slot or in an indirect page. */
export const SEGMENT_SIZE = 8;
/** Size of a response. */
export const RESPONSE_SIZE = 16;

export const RW = Object.freeze({ OPERATION: 0, NR_SEGMENTS: 1, HANDLE: 2, ID: 8, SECTOR: 16, SEGMENTS: 24 } as const);
export const DISCARD = Object.freeze({ OPERATION: 0, FLAG: 1, HANDLE: 2, ID: 8, SECTOR: 16, NR_SECTORS: 24 } as const);
export const INDIRECT = Object.freeze({
  OPERATION: 0,
  INDIRECT_OP: 1,
  NR_SEGMENTS: 2,
  ID: 8,
  SECTOR: 16,
  HANDLE: 24,
  GREFS: 28,
} as const);
export const SEGMENT = Object.freeze({ GREF: 0, FIRST_SECT: 4, LAST_SECT: 5 } as const);
export const RESPONSE = Object.freeze({ ID: 0, OPERATION: 8, STATUS: 10 } as const);

const TWO_32 = 0x1_0000_0000;

/** One data segment: a granted page and the inclusive 512-byte sector range used in it (0..7). */
export interface BlkifSegment {
  readonly gref: number;
  readonly firstSect: number;
  readonly lastSect: number;
}

/** Fields every request carries. `id` is the low and `idHigh` the high half of the u64 id. */
interface RequestBase {
  readonly id: number;
  readonly idHigh: number;
  /** In 512-byte units. Values of 2^53 and above are not exact (and never valid). */
  readonly sector: number;
  readonly handle: number;
}

/** The operations laid out as a read/write request. */
export type RwOp = typeof BlkifOp.READ | typeof BlkifOp.WRITE | typeof BlkifOp.WRITE_BARRIER | typeof BlkifOp.FLUSH_DISKCACHE;

/**
 * READ, WRITE, WRITE_BARRIER and FLUSH_DISKCACHE share this layout; so does an operation this
 * library does not know (`RwRequest<number>`, see `UnknownRequest`).
 */
export interface RwRequest<Op extends number = RwOp> extends RequestBase {
  readonly operation: Op;
  /** As found on the wire (0..255); `segments` holds at most 11 of them. */
  readonly nrSegments: number;
  readonly segments: readonly BlkifSegment[];
}

export interface DiscardRequest extends RequestBase {
  readonly operation: typeof BlkifOp.DISCARD;
  readonly flag: number;
  /** In 512-byte units. */
  readonly nrSectors: number;
}

export interface IndirectRequest extends RequestBase {
  readonly operation: typeof BlkifOp.INDIRECT;
  readonly indirectOp: number;
  /** As found on the wire (u16). */
  readonly nrSegments: number;
  /** All eight `indirect_grefs` entries; only the first ceil(nrSegments / 512) are meaningful. */
  readonly indirectGrefs: readonly number[];
}

/** A request whose operation is RESERVED or past INDIRECT, decoded in the read/write layout. */
export type UnknownRequest = RwRequest<number>;

/** A request of an operation this library knows: `switch (request.operation)` narrows it. */
export type KnownRequest = RwRequest | DiscardRequest | IndirectRequest;

export type BlkifRequest = KnownRequest | UnknownRequest;

const KNOWN_OPS: ReadonlySet<number> = new Set([
  BlkifOp.READ,
  BlkifOp.WRITE,
  BlkifOp.WRITE_BARRIER,
  BlkifOp.FLUSH_DISKCACHE,
  BlkifOp.DISCARD,
  BlkifOp.INDIRECT,
]);

/** True when the request's operation is one this library knows. */
export function isKnownRequest(request: BlkifRequest): request is KnownRequest {
  return KNOWN_OPS.has(request.operation);
}

export interface BlkifResponse {
  readonly id: number;
  readonly idHigh: number;
  readonly operation: number;
  readonly status: number;
}

/** Reads a u64 as a number: exact below 2^53, and at or above 2^53 whenever the value is. */
export function readU64(view: DataView, at: number): number {
  return view.getUint32(at + 4, true) * TWO_32 + view.getUint32(at, true);
}

/** Writes a non-negative integer below 2^64 (exactly, if it is a safe integer) as a u64. */
export function writeU64(view: DataView, at: number, value: number): void {
  if (value < TWO_32) {
    view.setUint32(at, value, true);
    view.setUint32(at + 4, 0, true);
    return;
  }
  view.setUint32(at, value % TWO_32, true);
  view.setUint32(at + 4, Math.floor(value / TWO_32) % TWO_32, true);
}

/** Writes the header of a read/write/flush/barrier request (segments follow separately). */
export function writeRwHeader(
  view: DataView,
  at: number,
  operation: number,
  nrSegments: number,
  handle: number,
  id: number,
  sector: number,
  idHigh = 0,
): void {
  view.setUint8(at + RW.OPERATION, operation);
  view.setUint8(at + RW.NR_SEGMENTS, nrSegments);
  view.setUint16(at + RW.HANDLE, handle, true);
  view.setUint32(at + RW.ID, id, true);
  view.setUint32(at + RW.ID + 4, idHigh, true);
  writeU64(view, at + RW.SECTOR, sector);
}

/** Writes one segment descriptor at `at` (inside a slot, or inside an indirect page). */
export function writeSegment(view: DataView, at: number, gref: number, firstSect: number, lastSect: number): void {
  view.setUint32(at + SEGMENT.GREF, gref, true);
  view.setUint8(at + SEGMENT.FIRST_SECT, firstSect);
  view.setUint8(at + SEGMENT.LAST_SECT, lastSect);
  view.setUint16(at + 6, 0, true);
}

export function readSegment(view: DataView, at: number): BlkifSegment {
  return {
    gref: view.getUint32(at + SEGMENT.GREF, true),
    firstSect: view.getUint8(at + SEGMENT.FIRST_SECT),
    lastSect: view.getUint8(at + SEGMENT.LAST_SECT),
  };
}

export function writeIndirectHeader(
  view: DataView,
  at: number,
  indirectOp: number,
  nrSegments: number,
  handle: number,
  id: number,
  sector: number,
  indirectGrefs: readonly number[],
  idHigh = 0,
): void {
  view.setUint8(at + INDIRECT.OPERATION, BlkifOp.INDIRECT);
  view.setUint8(at + INDIRECT.INDIRECT_OP, indirectOp);
  view.setUint16(at + INDIRECT.NR_SEGMENTS, nrSegments, true);
  view.setUint32(at + INDIRECT.ID, id, true);
  view.setUint32(at + INDIRECT.ID + 4, idHigh, true);
  writeU64(view, at + INDIRECT.SECTOR, sector);
  view.setUint16(at + INDIRECT.HANDLE, handle, true);
  for (let i = 0; i < MAX_INDIRECT_PAGES; i++) view.setUint32(at + INDIRECT.GREFS + 4 * i, indirectGrefs[i] ?? 0, true);
}

export function writeDiscard(
  view: DataView,
  at: number,
  flag: number,
  handle: number,
  id: number,
  sector: number,
  nrSectors: number,
  idHigh = 0,
): void {
  view.setUint8(at + DISCARD.OPERATION, BlkifOp.DISCARD);
  view.setUint8(at + DISCARD.FLAG, flag);
  view.setUint16(at + DISCARD.HANDLE, handle, true);
  view.setUint32(at + DISCARD.ID, id, true);
  view.setUint32(at + DISCARD.ID + 4, idHigh, true);
  writeU64(view, at + DISCARD.SECTOR, sector);
  writeU64(view, at + DISCARD.NR_SECTORS, nrSectors);
}

/** Encodes any request object at `at`. */
export function encodeRequest(view: DataView, at: number, request: BlkifRequest): void {
  const known = isKnownRequest(request) ? request : undefined;
  if (known?.operation === BlkifOp.DISCARD) {
    writeDiscard(view, at, known.flag, known.handle, known.id, known.sector, known.nrSectors, known.idHigh);
    return;
  }
  if (known?.operation === BlkifOp.INDIRECT) {
    writeIndirectHeader(
      view,
      at,
      known.indirectOp,
      known.nrSegments,
      known.handle,
      known.id,
      known.sector,
      known.indirectGrefs,
      known.idHigh,
    );
    return;
  }
  const r = request as RwRequest<number>;
  writeRwHeader(view, at, r.operation, r.nrSegments, r.handle, r.id, r.sector, r.idHigh);
  const count = Math.min(r.segments.length, MAX_DIRECT_SEGMENTS);
  for (let i = 0; i < count; i++) {
    const s = r.segments[i]!;
    writeSegment(view, at + RW.SEGMENTS + i * SEGMENT_SIZE, s.gref, s.firstSect, s.lastSect);
  }
}

/**
 * Decodes the request in the slot at `at`, reading every byte it uses exactly once: the result is
 * the backend's private copy, and nothing the frontend writes afterwards can change it. No
 * validation beyond the layout; direct requests keep at most 11 segments.
 */
export function decodeRequest(view: DataView, at: number): BlkifRequest {
  const operation = view.getUint8(at);
  const id = view.getUint32(at + RW.ID, true);
  const idHigh = view.getUint32(at + RW.ID + 4, true);
  const sector = readU64(view, at + RW.SECTOR);
  if (operation === BlkifOp.DISCARD) {
    return {
      operation,
      flag: view.getUint8(at + DISCARD.FLAG),
      handle: view.getUint16(at + DISCARD.HANDLE, true),
      id,
      idHigh,
      sector,
      nrSectors: readU64(view, at + DISCARD.NR_SECTORS),
    };
  }
  if (operation === BlkifOp.INDIRECT) {
    const indirectGrefs: number[] = [];
    for (let i = 0; i < MAX_INDIRECT_PAGES; i++) indirectGrefs.push(view.getUint32(at + INDIRECT.GREFS + 4 * i, true));
    return {
      operation,
      indirectOp: view.getUint8(at + INDIRECT.INDIRECT_OP),
      nrSegments: view.getUint16(at + INDIRECT.NR_SEGMENTS, true),
      handle: view.getUint16(at + INDIRECT.HANDLE, true),
      id,
      idHigh,
      sector,
      indirectGrefs,
    };
  }
  const nrSegments = view.getUint8(at + RW.NR_SEGMENTS);
  const count = Math.min(nrSegments, MAX_DIRECT_SEGMENTS);
  const segments: BlkifSegment[] = [];
  for (let i = 0; i < count; i++) segments.push(readSegment(view, at + RW.SEGMENTS + i * SEGMENT_SIZE));
  return { operation, nrSegments, handle: view.getUint16(at + RW.HANDLE, true), id, idHigh, sector, segments };
}

export function encodeResponse(view: DataView, at: number, id: number, idHigh: number, operation: number, status: number): void {
  view.setUint32(at + RESPONSE.ID, id, true);
  view.setUint32(at + RESPONSE.ID + 4, idHigh, true);
  view.setUint8(at + RESPONSE.OPERATION, operation);
  view.setInt16(at + RESPONSE.STATUS, status, true);
}

export function decodeResponse(view: DataView, at: number): BlkifResponse {
  return {
    id: view.getUint32(at + RESPONSE.ID, true),
    idHigh: view.getUint32(at + RESPONSE.ID + 4, true),
    operation: view.getUint8(at + RESPONSE.OPERATION),
    status: view.getInt16(at + RESPONSE.STATUS, true),
  };
}
