export interface CombinatorOptions {
  /** Aborting rejects the combinator with `signal.reason` once the requests in flight settle. */
  readonly signal?: AbortSignal;
  /** Called with (done, total): bytes for copy and compare, sectors for extents. */
  readonly onProgress?: (done: number, total: number) => void;
}
