import { settled } from '@blk/core';
import type { Child } from './child.js';
import type { InFlight } from './in-flight.js';

/** A read or write passed to a child as it is, counted in flight, releasing `release` when it settles. */
export function passThrough(
  inFlight: InFlight,
  child: Child,
  op: 'read' | 'write',
  offset: number,
  buffers: readonly Uint8Array[],
  release: () => void,
): Promise<void> {
  inFlight.enter();
  return settled(() => child.device[op](offset / child.info.sectorSize, buffers)).then(
    () => {
      release();
      inFlight.leave();
    },
    (error: unknown) => {
      release();
      inFlight.leave();
      throw child.failed(op, offset, buffers, error);
    },
  );
}
