import { settled, type BlockDevice } from '@blk/core';
import { readSegment, SEGMENT_SIZE, type BlkifRequest, type BlkifSegment, type IndirectRequest, type RwRequest } from './blkif-codec.js';
import { isKnownRequest } from './blkif-codec.js';
import { BlkifOp, BlkifStatus, PAGE_SIZE, SECTOR_BYTES } from './blkif-constants.js';
import type { GrantMapper } from './grant-mapper.js';
import { GrantError } from './grant-table.js';
import {
  checkDirect,
  checkDiscard,
  checkIndirect,
  checkSegments,
  isRefusal,
  refuse,
  type Refusal,
  type RequestLimits,
} from './request-validation.js';
import { copyBytesInto } from './shared-copy.js';
import type { SharedDomain } from './shared-domain.js';

/** What running a request needs of the Blkback serving it. */
export interface RequestContext {
  readonly device: BlockDevice;
  readonly frontend: SharedDomain;
  readonly mapper: GrantMapper;
  /** The limits requests are checked against now (they change on resize). */
  limits(): RequestLimits;
  /** Resolves once at most `target` requests are in flight. */
  settledTo(target: number): Promise<void>;
  /** Holds back every request taken after this one until `fence` settles. */
  fence(fence: Promise<unknown>): void;
  /** Counts `pages` data pages dispatched in this turn of the serve loop. */
  dispatched(pages: number): void;
}

const GRANT_REASONS: Record<number, string> = {
  [GrantError.BAD_REF]: 'invalid grant reference',
  [GrantError.NOT_GRANTED]: 'grant not active',
  [GrantError.WRONG_DOMAIN]: 'grant made out to another domain',
  [GrantError.READ_ONLY]: 'read-only grant for a page the backend must write',
  [GrantError.BAD_FRAME]: 'grant names a frame outside the domain',
  [GrantError.TOO_MANY_MAPPINGS]: 'grant mapped too often',
};

/** The refusal for a grant that would not map (`code` is the GrantError map returned). */
export function grantRefusal(ref: number, code: number): Refusal {
  return refuse(`grant ${ref}: ${GRANT_REASONS[code] ?? 'unmappable'}`);
}

/** Starts the work for one request, or refuses it. Never touches the device for a refused request. */
export function startRequest(ctx: RequestContext, request: BlkifRequest): Promise<unknown> | Refusal {
  if (!isKnownRequest(request)) return refuse(`operation ${request.operation} is not supported`, BlkifStatus.EOPNOTSUPP);
  const limits = ctx.limits();
  switch (request.operation) {
    case BlkifOp.READ:
    case BlkifOp.WRITE: {
      const write = request.operation === BlkifOp.WRITE;
      return checkDirect(limits, request.nrSegments, write, false) ?? dataIo(ctx, write, request.sector, request.segments);
    }
    case BlkifOp.FLUSH_DISKCACHE: {
      if (!limits.flush) return refuse('flush was not offered', BlkifStatus.EOPNOTSUPP);
      if (request.nrSegments === 0) return ctx.device.flush!();
      const refusal = checkDirect(limits, request.nrSegments, true, false);
      if (refusal) return refusal;
      const io = dataIo(ctx, true, request.sector, request.segments);
      return isRefusal(io) ? io : io.then(() => ctx.device.flush!());
    }
    case BlkifOp.WRITE_BARRIER:
      if (!limits.barrier) return refuse('barrier was not offered', BlkifStatus.EOPNOTSUPP);
      return barrier(ctx, request);
    case BlkifOp.DISCARD: {
      const { flag, sector, nrSectors } = request;
      const refusal = checkDiscard(limits, flag, sector, nrSectors);
      if (refusal) return refusal;
      const units = limits.sectorSize / SECTOR_BYTES;
      return nrSectors === 0 ? Promise.resolve() : ctx.device.discard!(sector / units, nrSectors / units);
    }
    case BlkifOp.INDIRECT:
      return indirect(ctx, request);
  }
}

/**
 * WRITE_BARRIER: every request taken before it completes first, none taken after it starts
 * until it is done; its data (if any) is written and then flushed.
 */
function barrier(ctx: RequestContext, request: RwRequest): Promise<unknown> | Refusal {
  if (request.nrSegments > 0) {
    const limits = ctx.limits();
    const refusal = checkDirect(limits, request.nrSegments, true, false) ?? checkSegments(limits, request.sector, request.segments);
    if (isRefusal(refusal)) return refusal;
  }
  const run = async () => {
    // This request is itself counted in flight once `startRequest` returns.
    await Promise.resolve();
    await ctx.settledTo(1);
    if (request.nrSegments > 0) {
      const io = dataIo(ctx, true, request.sector, request.segments);
      if (isRefusal(io)) throw new Error(io.reason);
      await io;
    }
    await ctx.device.flush!();
  };
  const fence = run();
  ctx.fence(fence);
  return fence;
}

function indirect(ctx: RequestContext, request: IndirectRequest): Promise<unknown> | Refusal {
  const pages = checkIndirect(ctx.limits(), request.indirectOp, request.nrSegments);
  if (isRefusal(pages)) return pages;
  const temporary: number[] = [];
  const frames: number[] = [];
  for (let i = 0; i < pages; i++) {
    const ref = request.indirectGrefs[i]!;
    const frame = ctx.mapper.map(ref, false, temporary);
    if (frame < 0) {
      ctx.mapper.release(temporary);
      return grantRefusal(ref, frame);
    }
    frames.push(frame);
  }
  // Read each descriptor once into private memory, then let the pages go.
  const view = ctx.frontend.view;
  const segments: BlkifSegment[] = new Array<BlkifSegment>(request.nrSegments);
  for (let i = 0; i < request.nrSegments; i++) {
    const frame = frames[i >> 9]!;
    segments[i] = readSegment(view, frame * PAGE_SIZE + (i & 511) * SEGMENT_SIZE);
  }
  ctx.mapper.release(temporary);
  return dataIo(ctx, request.indirectOp === BlkifOp.WRITE, request.sector, segments);
}

/**
 * Maps the segments' grants (writable for a read: the backend writes into them), merges pages
 * that follow each other in memory, and runs the device I/O straight on the granted memory.
 * Segments that do not line up with the device's sector size go through a bounce buffer.
 */
function dataIo(ctx: RequestContext, write: boolean, sector: number, segments: readonly BlkifSegment[]): Promise<unknown> | Refusal {
  const limits = ctx.limits();
  const count = checkSegments(limits, sector, segments);
  if (isRefusal(count)) return count;
  ctx.dispatched(segments.length);
  const temporary: number[] = [];
  const memory = ctx.frontend.bytes;
  const { sectorSize } = limits;
  // Runs of granted memory that follow each other are merged into one view.
  const views: Uint8Array[] = [];
  let aligned = true;
  let runStart = -1;
  let runEnd = -1;
  for (const { gref, firstSect, lastSect } of segments) {
    const frame = ctx.mapper.map(gref, !write, temporary);
    if (frame < 0) {
      ctx.mapper.release(temporary);
      return grantRefusal(gref, frame);
    }
    const start = frame * PAGE_SIZE + firstSect * SECTOR_BYTES;
    if (start !== runEnd) {
      if (runEnd >= 0) {
        views.push(memory.subarray(runStart, runEnd));
        if ((runEnd - runStart) % sectorSize !== 0) aligned = false;
      }
      runStart = start;
    }
    runEnd = frame * PAGE_SIZE + (lastSect + 1) * SECTOR_BYTES;
  }
  if (runEnd >= 0) {
    views.push(memory.subarray(runStart, runEnd));
    if ((runEnd - runStart) % sectorSize !== 0) aligned = false;
  }
  const deviceSector = (sector * SECTOR_BYTES) / sectorSize;
  const io = settled(() =>
    aligned
      ? write
        ? ctx.device.write(deviceSector, views)
        : ctx.device.read(deviceSector, views)
      : bounced(ctx.device, write, deviceSector, views, count * SECTOR_BYTES),
  );
  if (temporary.length === 0) return io;
  const release = () => {
    ctx.mapper.release(temporary);
  };
  return io.then(release, (error: unknown) => {
    release();
    throw error;
  });
}

async function bounced(device: BlockDevice, write: boolean, sector: number, views: readonly Uint8Array[], bytes: number): Promise<void> {
  const bounce = new Uint8Array(bytes);
  let at = 0;
  if (write) {
    for (const v of views) {
      copyBytesInto(bounce, at, v);
      at += v.byteLength;
    }
    await device.write(sector, [bounce]);
    return;
  }
  await device.read(sector, [bounce]);
  for (const v of views) {
    copyBytesInto(v, 0, bounce.subarray(at, at + v.byteLength));
    at += v.byteLength;
  }
}
