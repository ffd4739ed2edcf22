type BufferCompare = (a: Uint8Array, b: Uint8Array) => number;
type BufferCopy = (this: Uint8Array, target: Uint8Array, targetStart: number, sourceStart: number, sourceEnd: number) => number;

/** Node's Buffer, when there is one (browsers have none): its compare and copy are native. */
const nodeBuffer = (globalThis as { Buffer?: { compare: BufferCompare; prototype: { copy: BufferCopy } } }).Buffer;
const nodeCompare = nodeBuffer?.compare;
const nodeCopy = nodeBuffer?.prototype.copy;

/**
 * Copies `source[sourceStart, sourceEnd)` into `target` at `targetStart`, like `Buffer#copy`
 * (whose native path Node uses here: no subarray view is made per call, which counts on 4 KiB
 * copies); elsewhere `target.set(source.subarray(…))`. The range must fit in both arrays.
 */
export function copyBytes(source: Uint8Array, target: Uint8Array, targetStart: number, sourceStart: number, sourceEnd: number): void {
  if (nodeCopy) nodeCopy.call(source, target, targetStart, sourceStart, sourceEnd);
  else target.set(source.subarray(sourceStart, sourceEnd), targetStart);
}

/**
 * Orders two byte arrays like `Buffer.compare` (-1, 0 or 1: by the first differing byte, then by
 * length), in Node and in browsers alike.
 */
export function compareBytes(a: Uint8Array, b: Uint8Array): -1 | 0 | 1 {
  if (nodeCompare) return Math.sign(nodeCompare(a, b)) as -1 | 0 | 1;
  const n = Math.min(a.byteLength, b.byteLength);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  }
  return a.byteLength === b.byteLength ? 0 : a.byteLength < b.byteLength ? -1 : 1;
}

/** True when both hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && compareBytes(a, b) === 0;
}

/** The bytes of every part, one after another, in a new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}
