/** The sequential readers read-ahead follows at once; a new one replaces the least recently seen. */
export const READAHEAD_STREAMS = 4;

interface Stream {
  /** Where the stream's next read would start. */
  next: number;
  /** Its current window, in bytes. */
  window: number;
  /** How far ahead has already been asked for. */
  frontier: number;
}

/**
 * Sequential-read detection, as the Linux page cache does it: a read starting where an earlier one
 * ended continues that stream; the stream's window doubles from twice the read size up to
 * `maxBytes`, and once half a window is not yet asked for, the next stretch is.
 */
export class Readahead {
  readonly #maxBytes: number;
  readonly #minBytes: number;
  /** Most recently seen first. */
  readonly #streams: Stream[] = [];

  constructor(maxBytes: number, minBytes: number) {
    this.#maxBytes = maxBytes;
    this.#minBytes = Math.min(minBytes, maxBytes);
  }

  /** Notes a read of bytes [start, end) of a `size`-byte image; returns what to fetch ahead of it, if anything. */
  plan(start: number, end: number, size: number): { start: number; end: number } | undefined {
    if (this.#maxBytes === 0) return undefined;
    const at = this.#streams.findIndex((s) => s.next === start);
    if (at < 0) {
      this.#streams.unshift({ next: end, window: 0, frontier: end });
      if (this.#streams.length > READAHEAD_STREAMS) this.#streams.pop();
      return undefined;
    }
    const stream = this.#streams[at]!;
    this.#streams.splice(at, 1);
    this.#streams.unshift(stream);
    stream.window = Math.min(this.#maxBytes, Math.max(2 * stream.window, 2 * (end - start), this.#minBytes));
    stream.next = end;
    stream.frontier = Math.max(stream.frontier, end);
    const target = Math.min(size, end + stream.window);
    if (target <= stream.frontier) return undefined;
    if (target - stream.frontier < stream.window / 2 && target < size) return undefined;
    const ahead = { start: stream.frontier, end: target };
    stream.frontier = target;
    return ahead;
  }
}
