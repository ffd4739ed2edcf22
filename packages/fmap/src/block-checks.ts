import { FmapError } from './fmap-error.js';

/** Largest lease or allocateBlocks run: Node 20 caps a buffer at 4 GiB, we stay well below. */
export const MAX_RUN_BYTES = 1 << 30;

/** Checks a block offset: a safe integer, block-aligned, past the header and before `highWater`. */
export function checkBlockOffset(offset: unknown, blockSize: number, first: number, highWater: number): asserts offset is number {
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset)) {
    throw new FmapError('E_ARGUMENT', `offset must be a safe integer, got ${String(offset)}`);
  }
  if (offset % blockSize !== 0) throw new FmapError('E_ALIGN', `offset ${offset} is not a multiple of ${blockSize}`);
  if (offset < first) throw new FmapError('E_RANGE', `offset ${offset} is in the header (blocks start at ${first})`);
  if (offset >= highWater) throw new FmapError('E_RANGE', `offset ${offset} is past the end (${highWater})`);
}

/** Checks a run of blocks: a positive safe integer of them, at most MAX_RUN_BYTES. */
export function checkBlockCount(blocks: unknown, blockSize: number): asserts blocks is number {
  if (typeof blocks !== 'number' || !Number.isSafeInteger(blocks) || blocks < 1) {
    throw new FmapError('E_ARGUMENT', `block count must be a positive safe integer, got ${String(blocks)}`);
  }
  if (blocks * blockSize > MAX_RUN_BYTES) {
    throw new FmapError('E_RANGE', `${blocks} blocks is more than ${MAX_RUN_BYTES} bytes at once`);
  }
}

/** Checks `bytes` placed at byte `within` of one block. */
export function checkWithin(within: unknown, bytes: unknown, blockSize: number): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new FmapError('E_ARGUMENT', 'bytes must be a Uint8Array');
  if (typeof within !== 'number' || !Number.isSafeInteger(within) || within < 0) {
    throw new FmapError('E_ARGUMENT', `within must be a non-negative safe integer, got ${String(within)}`);
  }
  if (within + bytes.length > blockSize) {
    throw new FmapError('E_RANGE', `bytes [${within}, ${within + bytes.length}) run past the end of the ${blockSize}-byte block`);
  }
}
