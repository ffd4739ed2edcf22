import { Buffer } from 'node:buffer';

// TypedArray#set copies word by word (V8's relaxed memmove) as soon as either side is a
// SharedArrayBuffer, at about half the speed of memcpy for large copies. Buffer#fill with a source
// exactly as long as the range is one native memcpy, and it accepts any Uint8Array as target.
const { fill } = Buffer.prototype as { fill: (this: Uint8Array, value: Uint8Array, offset: number, end: number) => unknown };
/** Below this, the call into Node costs about what the slower copy loses. */
const FILL_MIN = 16 * 1024;

/**
 * Copies all of `source` into `target` at `at` (which must have room), as `target.set(source, at)`
 * does. For copies between shared memory and ordinary buffers.
 */
export function copyBytesInto(target: Uint8Array, at: number, source: Uint8Array): void {
  const n = source.byteLength;
  // memcpy must not see overlapping ranges: views of the same memory go through `set`.
  if (n < FILL_MIN || target.buffer === source.buffer) target.set(source, at);
  else fill.call(target, source, at, at + n);
}
