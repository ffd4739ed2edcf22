/**
 * Splits the byte range [position, position + length) at multiples of `unitBytes` (pages, chunks,
 * blocks): calls `fn(unit, within, n, done)` for each piece, in order, where `unit` is the unit's
 * index, `within` the piece's offset inside it, `n` its length and `done` the bytes before it.
 */
export function forEachUnit(
  position: number,
  length: number,
  unitBytes: number,
  fn: (unit: number, within: number, n: number, done: number) => void,
): void {
  for (let done = 0; done < length;) {
    const at = position + done;
    const within = at % unitBytes;
    const n = Math.min(unitBytes - within, length - done);
    fn((at - within) / unitBytes, within, n, done);
    done += n;
  }
}
