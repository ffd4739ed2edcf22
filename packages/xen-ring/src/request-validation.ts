import type { BlkifSegment } from './blkif-codec.js';
import {
  BlkifOp,
  BlkifStatus,
  MAX_DIRECT_SEGMENTS,
  SECTORS_PER_PAGE,
  SEGMENTS_PER_INDIRECT_PAGE,
  DISCARD_FLAG_SECURE,
} from './blkif-constants.js';

/** What the backend can do, against which each request is checked. */
export interface RequestLimits {
  /** Device size in 512-byte units. */
  readonly sectors: number;
  /** Device sector size in bytes (a power of two ≥ 512). */
  readonly sectorSize: number;
  readonly readOnly: boolean;
  readonly flush: boolean;
  readonly barrier: boolean;
  readonly discard: boolean;
  /** 0 when indirect requests are not offered. */
  readonly maxIndirectSegments: number;
}

/** A refusal: the status to answer with and why (for diagnostics). */
export class Refusal {
  readonly status: typeof BlkifStatus.ERROR | typeof BlkifStatus.EOPNOTSUPP;
  readonly reason: string;

  constructor(status: Refusal['status'], reason: string) {
    this.status = status;
    this.reason = reason;
  }
}

export function refuse(reason: string, status: Refusal['status'] = BlkifStatus.ERROR): Refusal {
  return new Refusal(status, reason);
}

/** A class test: `in` on the device's promises walks their prototype chain on every request. */
export function isRefusal(value: unknown): value is Refusal {
  return value instanceof Refusal;
}

/** True if a request `count` 512-byte units long at `sector` lies inside the device and on its sector grid. */
function checkExtent(limits: RequestLimits, sector: number, count: number): Refusal | undefined {
  const units = limits.sectorSize / 512;
  if (!Number.isSafeInteger(sector) || !Number.isSafeInteger(count)) return refuse(`sector ${sector} + ${count} is out of range`);
  if (sector > limits.sectors || count > limits.sectors - sector) {
    return refuse(`sectors [${sector}, ${sector + count}) run past the end (${limits.sectors})`);
  }
  if (sector % units !== 0 || count % units !== 0) {
    return refuse(`sectors [${sector}, +${count}) are not aligned to the ${limits.sectorSize}-byte sector`);
  }
  return undefined;
}

/**
 * Checks the segments of a read or write (direct or already read from indirect pages): each within
 * its page (first ≤ last ≤ 7), the whole inside the device and on its sector grid. Returns the
 * length in 512-byte units.
 */
export function checkSegments(limits: RequestLimits, sector: number, segments: readonly BlkifSegment[]): number | Refusal {
  let count = 0;
  for (let i = 0; i < segments.length; i++) {
    const { firstSect, lastSect } = segments[i]!;
    if (firstSect > lastSect || lastSect >= SECTORS_PER_PAGE)
      return refuse(`segment ${i} covers sectors ${firstSect}..${lastSect} of its page`);
    count += lastSect - firstSect + 1;
  }
  return checkExtent(limits, sector, count) ?? count;
}

/** Header checks for a direct read or write (and flush/barrier carrying data). */
export function checkDirect(limits: RequestLimits, nrSegments: number, write: boolean, allowEmpty: boolean): Refusal | undefined {
  if (nrSegments === 0 && !allowEmpty) return refuse('a read or write needs at least one segment');
  if (nrSegments > MAX_DIRECT_SEGMENTS) return refuse(`${nrSegments} segments in a direct request (at most ${MAX_DIRECT_SEGMENTS})`);
  if (write && limits.readOnly) return refuse('write to a read-only device');
  return undefined;
}

/** Header checks for an indirect request; returns the number of indirect pages to read. */
export function checkIndirect(limits: RequestLimits, indirectOp: number, nrSegments: number): number | Refusal {
  if (limits.maxIndirectSegments === 0) return refuse('indirect requests were not offered', BlkifStatus.EOPNOTSUPP);
  if (indirectOp !== BlkifOp.READ && indirectOp !== BlkifOp.WRITE) return refuse(`indirect operation ${indirectOp} is not a read or write`);
  if (nrSegments === 0 || nrSegments > limits.maxIndirectSegments) {
    return refuse(`${nrSegments} segments in an indirect request (1 to ${limits.maxIndirectSegments})`);
  }
  if (indirectOp === BlkifOp.WRITE && limits.readOnly) return refuse('write to a read-only device');
  return Math.ceil(nrSegments / SEGMENTS_PER_INDIRECT_PAGE);
}

export function checkDiscard(limits: RequestLimits, flag: number, sector: number, count: number): Refusal | undefined {
  if (!limits.discard) return refuse('discard was not offered', BlkifStatus.EOPNOTSUPP);
  if ((flag & DISCARD_FLAG_SECURE) !== 0) return refuse('secure discard was not offered', BlkifStatus.EOPNOTSUPP);
  if (limits.readOnly) return refuse('discard on a read-only device');
  return checkExtent(limits, sector, count);
}
