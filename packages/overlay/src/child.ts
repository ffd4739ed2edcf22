import { BlockError, isSeekable, zeroRange, type BlockDevice, type BlockInfo, settled } from '@blk/core';

export type ChildName = 'base' | 'top';

/**
 * The base or the top, addressed in bytes (every offset and length handed in is a whole number of
 * the child's sectors). Every failure is reported as an IO BlockError naming the child and the
 * bytes, with the child's own error as `cause`.
 */
export class Child {
  constructor(
    readonly name: ChildName,
    readonly device: BlockDevice,
    public info: BlockInfo,
  ) {}

  /** Records a size change made through the device itself. */
  resized(sizeSectors: number): void {
    this.info = { ...this.info, sizeSectors };
  }

  get writable(): boolean {
    return this.info.readWrite && this.device.supports.write;
  }

  /** Zeroing without writing zero data: native writeZeroes, or a discard that zeroes. */
  get zeroesCheaply(): boolean {
    const s = this.device.supports;
    return this.writable && (s.writeZeroes || (s.discard && s.discardZeroes));
  }

  get seekable(): boolean {
    return isSeekable(this.device);
  }

  read(offset: number, buffers: readonly Uint8Array[]): Promise<void> {
    return settled(() => this.device.read(offset / this.info.sectorSize, buffers)).catch((cause: unknown) => {
      throw this.#error(`read of ${range(offset, buffers)}`, cause);
    });
  }

  write(offset: number, buffers: readonly Uint8Array[]): Promise<void> {
    return settled(() => this.device.write(offset / this.info.sectorSize, buffers)).catch((cause: unknown) => {
      throw this.#error(`write of ${range(offset, buffers)}`, cause);
    });
  }

  zero(offset: number, bytes: number): Promise<void> {
    const ss = this.info.sectorSize;
    return this.#call(`zeroing of bytes [${offset}, ${offset + bytes})`, () => zeroRange(this.device, offset / ss, bytes / ss));
  }

  flush(): Promise<void> {
    const device = this.device;
    if (!device.supports.flush || !device.flush) return Promise.resolve();
    return this.#call('flush', () => device.flush!());
  }

  /** First byte at or after `offset` that may hold data, or `end` when none before it (needs `seekable`). */
  async mappedFrom(offset: number, end: number): Promise<number> {
    return this.#seek('seekMapped', offset, end);
  }

  /** First byte at or after `offset` guaranteed to read zero, or `end` when none before it (needs `seekable`). */
  async unmappedFrom(offset: number, end: number): Promise<number> {
    return this.#seek('seekUnmapped', offset, end);
  }

  async #seek(op: 'seekMapped' | 'seekUnmapped', offset: number, end: number): Promise<number> {
    const { sectorSize, sizeSectors } = this.info;
    const sector = Math.floor(offset / sectorSize);
    const answer = await this.#call(`${op}(${sector})`, () => this.device[op]!(sector));
    if (!Number.isSafeInteger(answer) || answer < sector || answer > sizeSectors) {
      throw BlockError.io(`overlay ${this.name}: ${op}(${sector}) answered ${answer}, outside [${sector}, ${sizeSectors}]`);
    }
    return Math.min(end, Math.max(offset, answer * sectorSize));
  }

  async #call<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (cause) {
      throw this.#error(what, cause);
    }
  }

  /** The IO error for a failed read or write of `buffers` at byte `offset`. */
  failed(op: 'read' | 'write', offset: number, buffers: readonly Uint8Array[], cause: unknown): BlockError {
    return this.#error(`${op} of ${range(offset, buffers)}`, cause);
  }

  #error(what: string, cause: unknown): BlockError {
    const detail = cause instanceof Error ? `: ${cause.message}` : '';
    return BlockError.io(`overlay ${this.name}: ${what} failed${detail}`, cause);
  }
}

function range(offset: number, buffers: readonly Uint8Array[]): string {
  let bytes = 0;
  for (const b of buffers) bytes += b.byteLength;
  return `bytes [${offset}, ${offset + bytes})`;
}
