/** Views of the bytes [from, to) of the concatenation of `buffers` (no copy). */
export function sliceBuffers(buffers: readonly Uint8Array[], from: number, to: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (const buffer of buffers) {
    const end = at + buffer.byteLength;
    if (end > from && at < to) out.push(buffer.subarray(Math.max(0, from - at), Math.min(buffer.byteLength, to - at)));
    if (end >= to) break;
    at = end;
  }
  return out;
}

export function fillZero(buffers: readonly Uint8Array[]): void {
  for (const buffer of buffers) buffer.fill(0);
}
