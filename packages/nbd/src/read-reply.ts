import type { BlockDevice } from '@blk/core';
import { allocationRuns, type AllocationRun } from './allocation.js';
import type { BufferPool } from './buffer-pool.js';
import type { Channel } from './channel.js';
import { CommandFlag, SIMPLE_REPLY_BYTES } from './constants.js';
import type { Negotiated } from './server-handshake.js';
import {
  DATA_CHUNK_PREFIX_BYTES,
  encodeHoleChunk,
  writeDataChunkPrefix,
  writeSimpleReply,
  type RequestHeader,
} from './transmission-codec.js';

/** Reads at least this long on a seekable device are answered with OFFSET_HOLE chunks for zero runs. */
const SPARSE_READ_BYTES = 64 << 10;
/** Chunks per sparse read reply. */
const MAX_READ_RUNS = 64;

/** What answering a READ needs of its session. */
export interface ReadContext {
  readonly device: BlockDevice;
  readonly channel: Channel;
  readonly pool: BufferPool;
  readonly negotiated: Negotiated;
  /** Large reads are answered with holes where the device can tell them cheaply. */
  readonly sparse: boolean;
}

/** Answers a validated READ of at least one byte: one data reply, or data and hole chunks. */
export function serveRead(ctx: ReadContext, header: RequestHeader): Promise<void> {
  const { offset, length } = header;
  const n = ctx.negotiated;
  // Only a sparse device finds its holes cheaply: another (a file without lseek) would scan the data to find them.
  if (n.structured && length >= SPARSE_READ_BYTES && (header.flags & CommandFlag.DF) === 0 && ctx.sparse) {
    return allocationRuns(ctx.device, n.info, offset, length, MAX_READ_RUNS).then((runs) =>
      runs.length > 1 || runs[0]?.zero ? sparseRead(ctx, header, runs) : readData(ctx, header),
    );
  }
  return readData(ctx, header);
}

/** The whole range as one reply: header and data in one pooled buffer, one write. */
function readData(ctx: ReadContext, header: RequestHeader): Promise<void> {
  const { offset, length, cookieHi, cookieLo } = header;
  const { structured, info } = ctx.negotiated;
  const prefix = structured ? DATA_CHUNK_PREFIX_BYTES : SIMPLE_REPLY_BYTES;
  const out = ctx.pool.take(prefix + length);
  return ctx.device.read(offset / info.sectorSize, [out.subarray(prefix)]).then(
    () => {
      if (structured) writeDataChunkPrefix(out, 0, true, cookieHi, cookieLo, offset, length);
      else writeSimpleReply(out, 0, 0, cookieHi, cookieLo);
      ctx.channel.write(out, () => {
        ctx.pool.give(out);
      });
    },
    (e: unknown) => {
      ctx.pool.give(out);
      throw e;
    },
  );
}

/** Data runs as OFFSET_DATA, zero runs as OFFSET_HOLE; read fully before anything is sent. */
async function sparseRead(ctx: ReadContext, header: RequestHeader, runs: readonly AllocationRun[]): Promise<void> {
  const { cookieHi, cookieLo } = header;
  const sectorSize = ctx.negotiated.info.sectorSize;
  const end = header.offset + header.length;
  const covered = runs.at(-1)!;
  // A capped answer covers a prefix: the rest goes out as one data chunk.
  const all =
    covered.offset + covered.length < end
      ? [...runs, { offset: covered.offset + covered.length, length: end - covered.offset - covered.length, zero: false }]
      : runs;
  const chunks = await Promise.all(
    all.map(async (run, i) => {
      const done = i === all.length - 1;
      if (run.zero) return encodeHoleChunk(done, cookieHi, cookieLo, run.offset, run.length);
      const out = Buffer.allocUnsafe(DATA_CHUNK_PREFIX_BYTES + run.length);
      await ctx.device.read(run.offset / sectorSize, [out.subarray(DATA_CHUNK_PREFIX_BYTES)]);
      writeDataChunkPrefix(out, 0, done, cookieHi, cookieLo, run.offset, run.length);
      return out;
    }),
  );
  for (const chunk of chunks) ctx.channel.write(chunk);
}
