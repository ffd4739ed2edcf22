import { supports, type BlockDevice } from '@blk/core';
import { expectBlockError, pattern } from '@blk/conformance';
import { Ramdisk } from '@blk/ramdisk';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { connect } from '../src/index.js';

const MIRROR_SS = 8192;
const MIRROR_SECTORS = 48;
const RATIO = MIRROR_SS / 512;

/** Brute force: is mirror sector `m` guaranteed zero, by the primary's own answers? */
async function zeroSectors(primary: BlockDevice): Promise<boolean[]> {
  const zero: boolean[] = [];
  for (let m = 0; m < MIRROR_SECTORS; m++) zero.push((await primary.seekMapped!(m * RATIO)) >= (m + 1) * RATIO);
  return zero;
}

describe('seeks are scaled to the mirror sector', () => {
  it('answers exactly as a sector-by-sector scan of the primary would (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ at: fc.nat({ max: MIRROR_SECTORS * RATIO - 1 }), count: fc.integer({ min: 1, max: 12 }) }), { maxLength: 8 }),
        async (runs) => {
          // 4 KiB pages under 8 KiB mirror sectors: half-mapped mirror sectors happen.
          const primary = new Ramdisk({ sizeSectors: MIRROR_SECTORS * RATIO, pageSize: 4096 });
          for (const { at, count } of runs) {
            const n = Math.min(count, MIRROR_SECTORS * RATIO - at);
            await primary.write(at, [pattern(at, n, 512)]);
          }
          const secondary = new Ramdisk({ sizeSectors: MIRROR_SECTORS, sectorSize: MIRROR_SS });
          const mirror = await connect(primary, secondary);
          const zero = await zeroSectors(primary);
          for (let s = 0; s <= MIRROR_SECTORS; s++) {
            const nextData = zero.findIndex((z, m) => m >= s && !z);
            const nextZero = zero.findIndex((z, m) => m >= s && z);
            expect(await mirror.seekMapped!(s), `seekMapped(${s})`).toBe(nextData === -1 ? MIRROR_SECTORS : nextData);
            expect(await mirror.seekUnmapped!(s), `seekUnmapped(${s})`).toBe(nextZero === -1 ? MIRROR_SECTORS : nextZero);
          }
          await mirror.disconnect();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('passes seeks straight through when the primary has the larger sectors', async () => {
    const primary = new Ramdisk({ sizeSectors: 64, sectorSize: 4096, pageSize: 4096 });
    await primary.write(10, [pattern(10, 2, 4096)]);
    const mirror = await connect(primary, new Ramdisk({ sizeSectors: 512 }));
    expect(await mirror.seekMapped!(0)).toBe(10);
    expect(await mirror.seekUnmapped!(10)).toBe(12);
    expect(await mirror.seekMapped!(64)).toBe(64);
    await expectBlockError(mirror.seekMapped!(65), 'OUT_OF_RANGE');
    await expectBlockError(mirror.seekUnmapped!(-1), 'OUT_OF_RANGE');
    await mirror.disconnect();
  });

  it('refuses a primary seek answer outside [sector, size] with IO', async () => {
    const inner = new Ramdisk({ sizeSectors: 512 });
    const liar: BlockDevice = {
      supports: supports({ write: true, seek: true }),
      getInfo: () => inner.getInfo(),
      read: (s, b) => inner.read(s, b),
      write: (s, b) => inner.write(s, b),
      disconnect: () => inner.disconnect(),
      seekMapped: () => Promise.resolve(9999),
      seekUnmapped: (s) => Promise.resolve(s - 1),
    };
    const mirror = await connect(liar, new Ramdisk({ sizeSectors: 64, sectorSize: 4096 }));
    await expectBlockError(mirror.seekMapped!(1), 'IO');
    await expectBlockError(mirror.seekUnmapped!(1), 'IO');
    // The copy asks the same questions, so the mirror fails instead of trusting them.
    await expectBlockError(mirror.synced, 'IO');
    await mirror.disconnect();
  });
});
