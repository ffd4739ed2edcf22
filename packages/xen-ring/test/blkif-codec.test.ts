import { describe, expect, it } from 'vitest';
import {
  BlkifOp,
  BlkifStatus,
  SLOT_SIZE,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  readSegment,
  writeSegment,
  type BlkifRequest,
} from '../src/index.js';

// Byte images written out by hand from the x86_64 layouts of Xen's xen/include/public/io/blkif.h (field @offset),
// every multi-byte field little-endian. Bytes not named are padding and stay zero.
function image(size: number, fields: readonly [offset: number, hex: string][]): Uint8Array {
  const bytes = new Uint8Array(size);
  for (const [offset, hex] of fields) {
    const clean = hex.replace(/\s+/g, '');
    for (let i = 0; i < clean.length / 2; i++) bytes[offset + i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  }
  return bytes;
}

const viewOf = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

function encoded(request: BlkifRequest, fill = 0): Uint8Array {
  const bytes = new Uint8Array(SLOT_SIZE).fill(fill);
  encodeRequest(viewOf(bytes), 0, request);
  return bytes;
}

describe('blkif x86_64 codec against hand-built byte images', () => {
  const rwImage = image(SLOT_SIZE, [
    [0, '01'], // operation = WRITE
    [1, '03'], // nr_segments = 3
    [2, '00 ca'], // handle = 0xca00 (51712)
    [8, '88 77 66 55 44 33 22 11'], // id = 0x1122334455667788
    [16, '02 00 00 00 01 00 00 00'], // sector_number = 2^32 + 2
    [24, '04 03 02 01'], // seg[0].gref = 0x01020304
    [28, '00'], // seg[0].first_sect
    [29, '07'], // seg[0].last_sect
    [32, '10 00 00 00'], // seg[1].gref = 16
    [36, '02 05'], // seg[1] first 2, last 5
    [40, 'ff ff ff ff'], // seg[2].gref = 2^32 − 1
    [44, '07 07'], // seg[2] first 7, last 7
  ]);
  const rw: BlkifRequest = {
    operation: BlkifOp.WRITE,
    nrSegments: 3,
    handle: 0xca00,
    id: 0x55667788,
    idHigh: 0x11223344,
    sector: 2 ** 32 + 2,
    segments: [
      { gref: 0x01020304, firstSect: 0, lastSect: 7 },
      { gref: 16, firstSect: 2, lastSect: 5 },
      { gref: 0xffffffff, firstSect: 7, lastSect: 7 },
    ],
  };

  it('read/write request: operation @0, nr_segments @1, handle @2, id @8, sector @16, segments of 8 bytes from @24', () => {
    expect(encoded(rw)).toEqual(rwImage);
    expect(decodeRequest(viewOf(rwImage), 0)).toEqual(rw);
  });

  it('a full direct request uses all 112 bytes: eleven segments end exactly at the slot end', () => {
    const segments = Array.from({ length: 11 }, (_, i) => ({ gref: 100 + i, firstSect: 0, lastSect: 7 }));
    const bytes = encoded({ operation: BlkifOp.READ, nrSegments: 11, handle: 1, id: 9, idHigh: 0, sector: 0, segments });
    expect(bytes[24 + 10 * 8]).toBe(110); // seg[10].gref low byte @104
    expect(bytes[24 + 10 * 8 + 5]).toBe(7); // seg[10].last_sect @109
    expect(24 + 11 * 8).toBe(SLOT_SIZE);
  });

  it('decodes at most 11 direct segments whatever nr_segments claims, and keeps the claim', () => {
    const bytes = image(SLOT_SIZE, [
      [0, '00'],
      [1, 'ff'],
    ]);
    const decoded = decodeRequest(viewOf(bytes), 0);
    expect(decoded.operation).toBe(BlkifOp.READ);
    expect((decoded as { nrSegments: number }).nrSegments).toBe(255);
    expect((decoded as unknown as { segments: unknown[] }).segments).toHaveLength(11);
  });

  it('flush: the read/write layout with zero segments', () => {
    const bytes = image(SLOT_SIZE, [
      [0, '03'],
      [8, '05'],
    ]);
    const flush: BlkifRequest = { operation: BlkifOp.FLUSH_DISKCACHE, nrSegments: 0, handle: 0, id: 5, idHigh: 0, sector: 0, segments: [] };
    expect(encoded(flush)).toEqual(bytes);
    expect(decodeRequest(viewOf(bytes), 0)).toEqual(flush);
  });

  it('discard: flag @1, handle @2, id @8, sector_number @16, nr_sectors u64 @24', () => {
    const bytes = image(SLOT_SIZE, [
      [0, '05'], // DISCARD
      [1, '01'], // flag: BLKIF_DISCARD_SECURE
      [2, '01 00'],
      [8, '2a 00 00 00 00 00 00 00'], // id 42
      [16, '00 10 00 00 00 00 00 00'], // sector 4096
      [24, '00 00 00 00 02 00 00 00'], // nr_sectors 2^33
    ]);
    const discard: BlkifRequest = { operation: BlkifOp.DISCARD, flag: 1, handle: 1, id: 42, idHigh: 0, sector: 4096, nrSectors: 2 ** 33 };
    expect(encoded(discard)).toEqual(bytes);
    expect(decodeRequest(viewOf(bytes), 0)).toEqual(discard);
  });

  it('indirect: indirect_op @1, nr_segments u16 @2, id @8, sector @16, handle @24, indirect_grefs[8] @28', () => {
    const bytes = image(SLOT_SIZE, [
      [0, '06'], // INDIRECT
      [1, '00'], // indirect_op READ
      [2, '00 01'], // nr_segments = 256
      [8, 'ef be ad de 00 00 00 00'], // id 0xdeadbeef
      [16, '00 02 00 00 00 00 00 00'], // sector 512
      [24, '00 ca'], // handle 0xca00
      [28, '09 00 00 00'], // indirect_grefs[0] = 9
      [32, '0a 00 00 00'], // indirect_grefs[1] = 10
    ]);
    const indirect: BlkifRequest = {
      operation: BlkifOp.INDIRECT,
      indirectOp: BlkifOp.READ,
      nrSegments: 256,
      handle: 0xca00,
      id: 0xdeadbeef,
      idHigh: 0,
      sector: 512,
      indirectGrefs: [9, 10, 0, 0, 0, 0, 0, 0],
    };
    expect(encoded(indirect)).toEqual(bytes);
    expect(decodeRequest(viewOf(bytes), 0)).toEqual(indirect);
    expect(28 + 8 * 4).toBeLessThanOrEqual(64); // the indirect request fits in 64 bytes
  });

  it('response: id u64 @0, operation @8, status i16 @10 (−1 = ff ff, −2 = fe ff)', () => {
    const error = image(16, [
      [0, '88 77 66 55 44 33 22 11'],
      [8, '01'],
      [10, 'ff ff'],
    ]);
    const bytes = new Uint8Array(16);
    encodeResponse(viewOf(bytes), 0, 0x55667788, 0x11223344, BlkifOp.WRITE, BlkifStatus.ERROR);
    expect(bytes).toEqual(error);
    expect(decodeResponse(viewOf(error), 0)).toEqual({ id: 0x55667788, idHigh: 0x11223344, operation: 1, status: -1 });

    const unsupported = image(16, [
      [0, '07'],
      [8, '05'],
      [10, 'fe ff'],
    ]);
    encodeResponse(viewOf(bytes.fill(0)), 0, 7, 0, BlkifOp.DISCARD, BlkifStatus.EOPNOTSUPP);
    expect(bytes).toEqual(unsupported);
    expect(decodeResponse(viewOf(unsupported), 0).status).toBe(-2);
    // mirage writes the statuses as u16: the same bits decode to the same signed values.
    expect(new DataView(unsupported.buffer).getUint16(10, true)).toBe(0xfffe);
  });

  it('segment descriptors in an indirect page: gref @0, first_sect @4, last_sect @5, 8 bytes each', () => {
    const page = new Uint8Array(4096);
    const view = viewOf(page);
    writeSegment(view, 511 * 8, 0xabcdef01, 3, 6);
    expect([...page.subarray(4088, 4096)]).toEqual([0x01, 0xef, 0xcd, 0xab, 3, 6, 0, 0]);
    expect(readSegment(view, 4088)).toEqual({ gref: 0xabcdef01, firstSect: 3, lastSect: 6 });
  });

  it('encoding writes only its fields (segment padding included): the rest of the slot keeps its bytes', () => {
    const bytes = encoded(rw, 0xee);
    for (const [from, to] of [
      [4, 8],
      [48, 112],
    ] as const) {
      expect(
        [...bytes.subarray(from, to)].every((b) => b === 0xee),
        `${from}..${to}`,
      ).toBe(true);
    }
    expect(bytes.subarray(0, 4)).toEqual(rwImage.subarray(0, 4));
  });

  it('sector numbers of 2^53 and above decode to numbers that are not safe integers', () => {
    const bytes = image(SLOT_SIZE, [
      [0, '00'],
      [16, 'ff ff ff ff ff ff ff ff'],
    ]);
    const { sector } = decodeRequest(viewOf(bytes), 0);
    expect(Number.isSafeInteger(sector)).toBe(false);
    expect(sector).toBeGreaterThanOrEqual(2 ** 64 - 2 ** 12);
  });
});
