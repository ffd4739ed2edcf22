import { supports, type Supports } from '@blk/core';
import type { Child } from './child.js';

/**
 * The overlay's manifest. It writes only to the top, so every write-type flag follows the top's
 * writability; it reports seeks itself (from its map, asking the base for the blocks that are the
 * base's); it keeps what it stores only as well as both children do.
 */
export function overlaySupports(base: Child, top: Child): Supports {
  const write = top.writable;
  const b = base.device.supports;
  const t = top.device.supports;
  return supports({
    write,
    // flush persists the map, so a writable overlay always has one.
    flush: write,
    fua: false,
    discard: write,
    discardZeroes: write,
    writeZeroes: write,
    resize: false,
    seek: true,
    // Zeroed blocks free the top's copy only when the top can zero without writing.
    sparse: b.sparse && t.sparse && top.zeroesCheaply,
    persistent: b.persistent && t.persistent,
    concurrent: b.concurrent && t.concurrent,
  });
}
