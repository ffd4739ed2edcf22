/** Bytes in a Xen page: ring pages, data pages and indirect descriptor pages. */
export const PAGE_SIZE = 4096;

/** blkif sector fields are always in 512-byte units, whatever `sector-size` says. */
export const SECTOR_SHIFT = 9;
export const SECTOR_BYTES = 1 << SECTOR_SHIFT;
export const SECTORS_PER_PAGE = PAGE_SIZE >> SECTOR_SHIFT;

/** Request operations (`operation` byte). */
export const BlkifOp = Object.freeze({
  READ: 0,
  WRITE: 1,
  WRITE_BARRIER: 2,
  FLUSH_DISKCACHE: 3,
  RESERVED: 4,
  DISCARD: 5,
  INDIRECT: 6,
} as const);
export type BlkifOpCode = (typeof BlkifOp)[keyof typeof BlkifOp];

/** Response `status` values (signed 16-bit on the wire). */
export const BlkifStatus = Object.freeze({
  OKAY: 0,
  ERROR: -1,
  EOPNOTSUPP: -2,
} as const);
export type BlkifStatusCode = (typeof BlkifStatus)[keyof typeof BlkifStatus];

/** Direct segments that fit in one request slot. */
export const MAX_DIRECT_SEGMENTS = 11;
/** Segment descriptors per indirect page (8 bytes each). */
export const SEGMENTS_PER_INDIRECT_PAGE = PAGE_SIZE / 8;
/** `indirect_grefs` entries in an indirect request. */
export const MAX_INDIRECT_PAGES = 8;
/** The most segments an indirect request can describe. */
export const MAX_INDIRECT_SEGMENTS = SEGMENTS_PER_INDIRECT_PAGE * MAX_INDIRECT_PAGES;

/** bit0 of a discard request's flag byte. */
export const DISCARD_FLAG_SECURE = 1;

/** Bits of the backend's `info` key. */
export const VDISK_CDROM = 1;
export const VDISK_REMOVABLE = 2;
export const VDISK_READONLY = 4;

/** The only request layout this package speaks (also what "arm-abi" uses). */
export const PROTOCOL_X86_64 = 'x86_64-abi';
