import { BlockError, ensureZero, isSeekable, type BlockDevice, type BlockInfo } from '@blk/core';

export type Side = 'primary' | 'secondary';

/** A failure of one child, wrapped so the mirror's error says which device broke and where. */
export function childError(side: Side, what: string, cause: unknown): BlockError {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return BlockError.io(`mirror ${side}: ${what} failed${detail}`, cause);
}

const blame =
  (side: Side, what: string) =>
  (cause: unknown): never => {
    throw childError(side, what, cause);
  };

export const floorTo = (n: number, grain: number): number => Math.floor(n / grain) * grain;
export const ceilTo = (n: number, grain: number): number => Math.ceil(n / grain) * grain;

/**
 * The primary and the secondary addressed in bytes. Every offset handed to a child is divided by
 * that child's own sector size, so 512- and 4096-byte devices can be mixed; offsets and lengths
 * given here are whole multiples of `grain` (the larger sector size, a multiple of the smaller).
 */
export class DevicePair {
  readonly grain: number;
  readonly bytes: number;

  constructor(
    readonly primary: BlockDevice,
    readonly primaryInfo: BlockInfo,
    readonly secondary: BlockDevice,
    readonly secondaryInfo: BlockInfo,
  ) {
    this.grain = Math.max(primaryInfo.sectorSize, secondaryInfo.sectorSize);
    this.bytes = primaryInfo.sizeSectors * primaryInfo.sectorSize;
  }

  get primarySeekable(): boolean {
    return isSeekable(this.primary);
  }

  /** True when the secondary can zero a range without writing zero data. */
  get secondaryZeroesCheaply(): boolean {
    const s = this.secondary.supports;
    return s.writeZeroes || (s.discard && s.discardZeroes);
  }

  /**
   * Copies [start, end) from the primary onto the secondary through `buffer`, a piece at a time.
   * `pause`, when given, is awaited before each write and each further read.
   */
  async copyRange(start: number, end: number, buffer: Uint8Array, pause?: () => Promise<void>): Promise<void> {
    const piece = floorTo(buffer.byteLength, this.grain);
    if (piece === 0) throw new RangeError(`copy buffer of ${buffer.byteLength} bytes is smaller than a ${this.grain}-byte sector`);
    for (let at = start; at < end; at += piece) {
      const view = buffer.subarray(0, Math.min(piece, end - at));
      const range = `bytes [${at}, ${at + view.byteLength})`;
      if (pause && at > start) await pause();
      await this.primary.read(at / this.primaryInfo.sectorSize, [view]).catch(blame('primary', `read of ${range}`));
      if (pause) await pause();
      await this.secondary.write(at / this.secondaryInfo.sectorSize, [view]).catch(blame('secondary', `write of ${range}`));
    }
  }

  /** Makes [start, end) read zero on the secondary, skipping the work where it already does. */
  async zeroSecondary(start: number, end: number): Promise<void> {
    const sectorSize = this.secondaryInfo.sectorSize;
    const sector = start / sectorSize;
    const count = (end - start) / sectorSize;
    await ensureZero(this.secondary, sector, count).catch(blame('secondary', `zeroing of bytes [${start}, ${end})`));
  }

  /** First byte at or after `offset` that may hold data on the primary (`bytes` when none). */
  primaryMappedFrom(offset: number): Promise<number> {
    return this.#seekPrimary('seekMapped', offset);
  }

  /** First byte at or after `offset` that is guaranteed zero on the primary (`bytes` when none). */
  primaryUnmappedFrom(offset: number): Promise<number> {
    return this.#seekPrimary('seekUnmapped', offset);
  }

  async #seekPrimary(op: 'seekMapped' | 'seekUnmapped', offset: number): Promise<number> {
    const { sectorSize, sizeSectors } = this.primaryInfo;
    const sector = Math.floor(offset / sectorSize);
    const primary = this.primary;
    if (!isSeekable(primary)) return op === 'seekMapped' ? offset : this.bytes;
    const asked = op === 'seekMapped' ? primary.seekMapped(sector) : primary.seekUnmapped(sector);
    const answer = await asked.catch(blame('primary', `${op}(${sector})`));
    if (!Number.isSafeInteger(answer) || answer < sector || answer > sizeSectors) {
      throw childError('primary', `${op}(${sector})`, new Error(`answer ${answer} is outside [${sector}, ${sizeSectors}]`));
    }
    return Math.max(offset, answer * sectorSize);
  }
}
