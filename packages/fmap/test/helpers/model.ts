import { expect } from 'vitest';
import type { BlockFile } from '../../src/index.js';

/** What a BlockFile should hold: allocated blocks (with the stamp written into each) and control data. */
export interface ModelState {
  readonly allocated: Map<number, number>;
  control: Uint8Array;
}

export function cloneState(state: ModelState): ModelState {
  return { allocated: new Map(state.allocated), control: state.control.slice() };
}

export function writeStamp(file: BlockFile, offset: number, stamp: number): void {
  file.do(offset, 1, (bytes) => {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    view.setUint32(0, stamp, true);
    view.setUint32(bytes.length - 4, stamp, true);
  });
}

export function readStamp(file: BlockFile, offset: number): [number, number] {
  return file.do(offset, 1, (bytes) => {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return [view.getUint32(0, true), view.getUint32(bytes.length - 4, true)];
  });
}

/**
 * Every invariant: free, allocated and free-list pages partition the blocks exactly (no block
 * twice, none leaked), each allocated block holds its stamp, control data matches.
 */
export function checkAgainstModel(file: BlockFile, model: ModelState): void {
  const stats = file.stats();
  const owner = new Map<number, string>();
  const claim = (offset: number, what: string) => {
    const before = owner.get(offset);
    if (before !== undefined) throw new Error(`block ${offset} is both ${before} and ${what}`);
    owner.set(offset, what);
  };
  for (const offset of stats.free) claim(offset, 'free');
  for (const offset of stats.freeListPages) claim(offset, 'free-list page');
  for (const offset of model.allocated.keys()) claim(offset, 'allocated');
  for (let at = stats.firstBlock; at < stats.size; at += stats.blockSize) {
    if (!owner.has(at)) throw new Error(`block ${at} is leaked: neither free nor allocated`);
  }
  expect(owner.size).toBe((stats.size - stats.firstBlock) / stats.blockSize);
  for (const [offset, stamp] of model.allocated) expect(readStamp(file, offset), `stamp of ${offset}`).toEqual([stamp, stamp]);
  expect(file.controlData()).toEqual(model.control);
}
