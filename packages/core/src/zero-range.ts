import { isSeekable, type BlockDevice } from './block-device.js';

const ZERO_WRITE_BYTES = 1 << 20;

/**
 * Makes `count` sectors from `sector` read as zero by the cheapest means the device has:
 * writeZeroes, else a discard that zeroes, else plain writes of zeroes.
 */
export async function zeroRange(device: BlockDevice, sector: number, count: number): Promise<void> {
  if (device.supports.writeZeroes && device.writeZeroes) return device.writeZeroes(sector, count);
  if (device.supports.discard && device.supports.discardZeroes && device.discard) {
    return device.discard(sector, count);
  }
  if (count === 0) return;
  const { sectorSize } = await device.getInfo();
  const perWrite = Math.max(1, Math.floor(ZERO_WRITE_BYTES / sectorSize));
  const zeroes = new Uint8Array(Math.min(count, perWrite) * sectorSize);
  for (let done = 0; done < count;) {
    const n = Math.min(perWrite, count - done);
    await device.write(sector + done, [zeroes.subarray(0, n * sectorSize)]);
    done += n;
  }
}

/** True when `device` can tell (by seeking) that the `count` sectors from `sector` read as zero. */
async function alreadyZero(device: BlockDevice, sector: number, count: number): Promise<boolean> {
  if (!isSeekable(device)) return false;
  return (await device.seekMapped(sector)) >= sector + count;
}

/** zeroRange, skipped where a seek shows the range already reads as zero (a copy onto a sparse device). */
export async function ensureZero(device: BlockDevice, sector: number, count: number): Promise<void> {
  if (!(await alreadyZero(device, sector, count))) await zeroRange(device, sector, count);
}
