import { BlockError, checkRequest, settled, supports, type BlockDevice, type BlockInfo } from '@blk/core';

/**
 * A disk with a volatile write cache, for crash tests: writes land in the cache (reads see them),
 * `flush` moves the cache to the durable bytes, and `crash` keeps only the cached sectors the
 * caller picks, as a power cut would. Handles made by `device()` all see the same disk.
 */
export class VolatileDisk {
  readonly durable: Uint8Array;
  readonly #pending = new Map<number, Uint8Array>();
  #crashAt: { flushes: number; keep: (sector: number) => boolean } | undefined;

  constructor(
    readonly sectorSize: number,
    readonly sizeSectors: number,
  ) {
    this.durable = new Uint8Array(sectorSize * sizeSectors);
  }

  get pendingSectors(): number {
    return this.#pending.size;
  }

  /** Loses the cache, except the sectors `keep` picks, which reach the disk. */
  crash(keep: (sector: number) => boolean): void {
    this.#crashAt = undefined;
    for (const [sector, bytes] of this.#pending) if (keep(sector)) this.durable.set(bytes, sector * this.sectorSize);
    this.#pending.clear();
  }

  /**
   * Makes the flush after `flushes` more succeed-ing ones a power cut instead: the cache is lost
   * except what `keep` picks, and that flush rejects.
   */
  crashAtFlush(flushes: number, keep: (sector: number) => boolean): void {
    this.#crashAt = { flushes, keep };
  }

  #flush(): void {
    const armed = this.#crashAt;
    if (armed && armed.flushes-- === 0) {
      this.crash(armed.keep);
      throw BlockError.io('power cut during flush');
    }
    for (const [sector, bytes] of this.#pending) this.durable.set(bytes, sector * this.sectorSize);
    this.#pending.clear();
  }

  device(): BlockDevice {
    const info: BlockInfo = { readWrite: true, sectorSize: this.sectorSize, sizeSectors: this.sizeSectors };
    const ss = this.sectorSize;
    let closed = false;
    const open = () => {
      if (closed) throw BlockError.disconnected();
    };
    const each = (sector: number, buffers: readonly Uint8Array[], fn: (s: number, view: Uint8Array) => void) => {
      let s = sector;
      for (const buffer of buffers) for (let at = 0; at < buffer.byteLength; at += ss) fn(s++, buffer.subarray(at, at + ss));
    };
    return {
      supports: supports({ write: true, flush: true, persistent: true, concurrent: true }),
      getInfo: () => settled(() => (open(), { ...info })),
      read: (sector, buffers) =>
        settled(() => {
          open();
          checkRequest(info, sector, buffers);
          each(sector, buffers, (s, view) => view.set(this.#pending.get(s) ?? this.durable.subarray(s * ss, (s + 1) * ss)));
        }),
      write: (sector, buffers) =>
        settled(() => {
          open();
          checkRequest(info, sector, buffers);
          each(sector, buffers, (s, view) => this.#pending.set(s, view.slice()));
        }),
      flush: () =>
        settled(() => {
          open();
          this.#flush();
        }),
      disconnect: () => {
        closed = true;
        return Promise.resolve();
      },
    };
  }
}
