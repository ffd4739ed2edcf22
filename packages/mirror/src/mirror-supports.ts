import { isSeekable, supports, type BlockDevice, type BlockInfo, type Supports } from '@blk/core';

/**
 * The mirror's manifest, derived from its children. Reads, seeks and the data that clients see
 * come from the primary, so most flags follow it; the secondary only has to accept writes (any
 * zeroing it cannot do natively is emulated with zero writes).
 */
export function mirrorSupports(primary: BlockDevice, primaryInfo: BlockInfo, secondary: BlockDevice): Supports {
  const p = primary.supports;
  const write = p.write && primaryInfo.readWrite;
  return supports({
    write,
    flush: p.flush || secondary.supports.flush,
    // The interface has no per-request FUA, so a mirror cannot pass one through to both children.
    fua: false,
    discard: write && p.discard,
    discardZeroes: write && p.discard && p.discardZeroes,
    writeZeroes: write && (p.writeZeroes || (p.discard && p.discardZeroes)),
    resize: false,
    seek: isSeekable(primary),
    sparse: p.sparse,
    persistent: p.persistent,
    concurrent: p.concurrent && secondary.supports.concurrent,
  });
}
