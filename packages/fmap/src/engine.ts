/** Where a BlockFile's blocks live. */
export type EngineKind = 'memory' | 'pread' | 'mmap';

/**
 * The storage a BlockFile sits on. Positions and lengths are whole blocks, except that `read` and
 * `write` take any byte range of blocks; the header slots are never read or written through
 * `read`/`write` (only through `writeDurable`).
 */
export interface Engine {
  readonly kind: EngineKind;
  /** Bytes that can be read and written now. */
  capacity(): number;
  /**
   * Makes at least `bytes` bytes usable, reading as zero past the old capacity. `mayMove` is
   * false while leases are live: an engine whose memory would move then throws E_OUTSTANDING.
   */
  ensureCapacity(bytes: number, mayMove: boolean): void;
  read(position: number, dst: Uint8Array): void;
  write(position: number, src: Uint8Array): void;
  /** True when the stored bytes at `position` equal `src`. */
  equals(position: number, src: Uint8Array): boolean;
  zero(position: number, length: number): void;
  /** Hands dirty data to the operating system without waiting for the disk (fs2's Sync). */
  sync(): void;
  /** Makes every write so far durable. */
  flush(): void;
  /** Writes straight to the file and waits for the disk: the header commit. */
  writeDurable(position: number, src: Uint8Array): void;
  /** Cuts the file to `bytes` (dropping cached blocks past it) and leaves that as the capacity. */
  truncate(bytes: number): void;
  /** Releases memory and mappings; the file descriptor belongs to the caller. */
  close(): void;
}
