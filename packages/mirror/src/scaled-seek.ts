import { BlockError, type SeekableBlockDevice } from '@blk/core';

/**
 * seekMapped/seekUnmapped of the primary in the mirror's sectors, which may be `ratio` primary
 * sectors each (a 512-byte primary under a 4096-byte mirror). A mirror sector may hold data when
 * any of its primary sectors may; it is guaranteed zero only when all of them are.
 */
export class ScaledSeek {
  readonly #primary: SeekableBlockDevice;
  readonly #ratio: number;
  readonly #primarySize: number;

  constructor(primary: SeekableBlockDevice, ratio: number, primarySize: number) {
    this.#primary = primary;
    this.#ratio = ratio;
    this.#primarySize = primarySize;
  }

  async mapped(sector: number): Promise<number> {
    const from = sector * this.#ratio;
    const answer = await this.#ask('seekMapped', from);
    return Math.floor(answer / this.#ratio);
  }

  async unmapped(sector: number): Promise<number> {
    const ratio = this.#ratio;
    if (ratio === 1) return this.#ask('seekUnmapped', sector);
    const mirrorSize = this.#primarySize / ratio;
    // Each round moves `from` to a later mirror-sector boundary, so this ends within the device.
    for (let from = sector * ratio; from < this.#primarySize;) {
      const zero = await this.#ask('seekUnmapped', from);
      const candidate = Math.ceil(zero / ratio) * ratio;
      if (candidate >= this.#primarySize) return mirrorSize;
      const data = await this.#ask('seekMapped', candidate);
      if (data >= candidate + ratio) return candidate / ratio;
      from = (Math.floor(data / ratio) + 1) * ratio;
    }
    return mirrorSize;
  }

  async #ask(op: 'seekMapped' | 'seekUnmapped', from: number): Promise<number> {
    const answer = await this.#primary[op](from);
    if (!Number.isSafeInteger(answer) || answer < from || answer > this.#primarySize) {
      throw BlockError.io(`mirror primary answered ${op}(${from}) with ${answer}, outside [${from}, ${this.#primarySize}]`);
    }
    return answer;
  }
}
