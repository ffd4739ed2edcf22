import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isBlockError } from '@blk/core';
import { makeTempDir } from '@blk/test-kit';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { crc32 } from '../src/crc32.js';
import { decodeSuperblock, encodeSuperblock, type Superblock } from '../src/device-superblock.js';
import { BlockFile, isFmapError, openFmapDevice, type FmapErrorCode } from '../src/index.js';
import { decodeMapBlock, encodeMapBlock, type MapBlock } from '../src/map-block.js';

const temp = makeTempDir('blk-fmap-device-hostile-');
afterAll(() => temp.remove());
let serial = 0;

const UNIT = 4096;
const PER_UNIT = UNIT / 512;

/** A device of 2000 units (a two-level map) with units 0, 1, 2, 1500 and 1999 written; returns its path. */
async function sample(): Promise<string> {
  const path = join(temp.path, `hostile-${serial++}.fmap`);
  const device = await openFmapDevice(path, { create: { sizeSectors: 2000 * PER_UNIT, blockSize: UNIT } });
  for (const unit of [0, 1, 2, 1500, 1999]) await device.write(unit * PER_UNIT, [new Uint8Array(UNIT).fill((unit % 251) + 1)]);
  await device.disconnect();
  return path;
}

function withFile<T>(path: string, fn: (file: BlockFile) => T): T {
  const file = BlockFile.open(path, { lock: false });
  try {
    return fn(file);
  } finally {
    file.close();
  }
}

function superblock(file: BlockFile): Superblock {
  return decodeSuperblock(file.controlData(), file.path!);
}

function editSuperblock(path: string, change: (sb: Superblock) => Superblock): void {
  withFile(path, (file) => {
    file.setControlData(encodeSuperblock(change(superblock(file))));
  });
}

function readMap(file: BlockFile, at: number): MapBlock {
  return file.do(at, 1, (bytes) => decodeMapBlock(bytes, at, 'test'));
}

/** Rewrites a map block with a valid checksum: hostile but well-formed. */
function editMapBlock(
  path: string,
  pick: (root: MapBlock, rootAt: number) => number,
  change: (block: MapBlock, at: number) => MapBlock,
): void {
  withFile(path, (file) => {
    const rootAt = superblock(file).root;
    const at = pick(readMap(file, rootAt), rootAt);
    const block = change(readMap(file, at), at);
    file.do(at, 1, (bytes) => {
      encodeMapBlock(bytes, block);
    });
  });
}

const root = (_root: MapBlock, rootAt: number) => rootAt;
const firstLeaf = (r: MapBlock) => r.entries[0]!;
/** The leaf of units 1524…2031, of which 2000 on are past the end of the device. */
const lastLeaf = (r: MapBlock) => r.entries[3]!;

function withEntries(block: MapBlock, edit: (entries: Float64Array) => void): MapBlock {
  const entries = block.entries.slice();
  edit(entries);
  return { ...block, entries };
}

async function expectOpenFails(path: string, code: FmapErrorCode, message?: RegExp): Promise<void> {
  let error: unknown;
  try {
    await (await openFmapDevice(path)).disconnect();
  } catch (e) {
    error = e;
  }
  expect(isBlockError(error, 'IO'), `expected an IO BlockError, got ${String(error)}`).toBe(true);
  const cause = (error as Error).cause;
  expect(isFmapError(cause), `cause ${String(cause)}`).toBe(true);
  expect((cause as { code: string }).code, (error as Error).message).toBe(code);
  if (message) expect((error as Error).message).toMatch(message);
  // The refused open let go of the file: it can be opened again (and still refused the same way).
  const again = await openFmapDevice(path).then(
    (device) => device.disconnect().then(() => 'opened'),
    (e: unknown) => (isFmapError((e as Error).cause, code) ? 'refused' : String(e)),
  );
  expect(again).toBe('refused');
}

describe('openFmapDevice refuses files that are not fmap devices', () => {
  it('a missing path is E_NOENT (nothing is created)', async () => {
    await expectOpenFails(join(temp.path, 'missing.fmap'), 'E_NOENT');
  });

  it('a file that is not a BlockFile is E_BAD_MAGIC', async () => {
    const path = join(temp.path, `garbage-${serial++}.fmap`);
    writeFileSync(path, Buffer.alloc(3 * UNIT, 'not a BlockFile'));
    await expectOpenFails(path, 'E_BAD_MAGIC');
  });

  it("a BlockFile without control data, or with somebody else's, is E_NOT_DEVICE", async () => {
    const empty = join(temp.path, `empty-${serial++}.fmap`);
    BlockFile.create(empty, { blockSize: UNIT }).close();
    await expectOpenFails(empty, 'E_NOT_DEVICE', /holds no fmap device/);
    const foreign = join(temp.path, `foreign-${serial++}.fmap`);
    const file = BlockFile.create(foreign, { blockSize: UNIT });
    file.setControlData(new TextEncoder().encode(JSON.stringify({ root: 8192, app: 'a b-tree' })));
    file.close();
    await expectOpenFails(foreign, 'E_NOT_DEVICE', /not an fmap device/);
  });
});

describe('a damaged superblock is a typed error', () => {
  const cases: [string, (sb: Superblock) => Superblock, FmapErrorCode][] = [
    ['a sector size that is not a power of two', (sb) => ({ ...sb, sectorSize: 1000 }), 'E_CORRUPT'],
    ['a sector size larger than the block', (sb) => ({ ...sb, sectorSize: 8192 }), 'E_CORRUPT'],
    ['a size beyond 2^53 bytes', (sb) => ({ ...sb, sizeSectors: 2 ** 50 }), 'E_CORRUPT'],
    ['a map height that does not fit the size', (sb) => ({ ...sb, height: 1 }), 'E_CORRUPT'],
    ['a wrong count of mapped units', (sb) => ({ ...sb, mappedUnits: 3 }), 'E_CORRUPT'],
    ['a wrong count of map blocks', (sb) => ({ ...sb, mapBlocks: 9 }), 'E_CORRUPT'],
    ['no root but mapped units', (sb) => ({ ...sb, root: 0 }), 'E_CORRUPT'],
    ['a root past the end of the file', (sb) => ({ ...sb, root: 1 << 30 }), 'E_CORRUPT'],
    ['a root that is not block-aligned', (sb) => ({ ...sb, root: sb.root + 8 }), 'E_CORRUPT'],
    ['a root in the header', (sb) => ({ ...sb, root: 4096 }), 'E_CORRUPT'],
    ['a root that is a data block', (sb) => ({ ...sb, root: 8192 }), 'E_CORRUPT'],
    ['a shrunken size that leaves mapped units past the end', (sb) => ({ ...sb, sizeSectors: 1000 * PER_UNIT }), 'E_CORRUPT'],
  ];
  for (const [name, change, code] of cases) {
    it(`${name}: ${code}`, async () => {
      const path = await sample();
      editSuperblock(path, change);
      await expectOpenFails(path, code);
    });
  }

  it('a newer device format is E_VERSION', async () => {
    const path = await sample();
    withFile(path, (file) => {
      const control = file.controlData();
      control[8] = 2;
      file.setControlData(control);
    });
    await expectOpenFails(path, 'E_VERSION');
  });

  it('the root in a free block is E_CORRUPT', async () => {
    const path = await sample();
    withFile(path, (file) => {
      const spare = file.allocate();
      file.free(spare);
      file.setControlData(encodeSuperblock({ ...superblock(file), root: spare }));
    });
    await expectOpenFails(path, 'E_CORRUPT', /free or already taken/);
  });
});

describe('a damaged map block is a typed error', () => {
  it('a flipped bit anywhere checksummed is E_CHECKSUM', async () => {
    for (const offset of [3, 9, 14, 20, 40, 2000, UNIT - 1]) {
      const path = await sample();
      withFile(path, (file) => {
        file.do(superblock(file).root, 1, (bytes) => {
          bytes[offset]! ^= 0x10;
        });
      });
      await expectOpenFails(path, offset < 8 ? 'E_CORRUPT' : 'E_CHECKSUM');
    }
  });

  const cases: [string, Parameters<typeof editMapBlock>[1], Parameters<typeof editMapBlock>[2], RegExp][] = [
    ['two units on one data block', firstLeaf, (b) => withEntries(b, (e) => (e[1] = e[0]!)), /already taken/],
    ['a unit on the map block itself', firstLeaf, (b, at) => withEntries(b, (e) => (e[3] = at)), /already taken/],
    ['a unit on a block past the end', firstLeaf, (b) => withEntries(b, (e) => (e[0] = 1 << 30)), /not a block of the file/],
    ['a unit on an unaligned offset', firstLeaf, (b) => withEntries(b, (e) => (e[0] = e[0]! + 512)), /not a block of the file/],
    ['a unit past the end of the device', lastLeaf, (b) => withEntries(b, (e) => (e[500] = e[475]!)), /past the end/],
    ['a leaf where an inner node belongs', root, (b) => ({ ...b, level: 0 }), /level/],
    ['a node placed at the wrong unit', firstLeaf, (b) => ({ ...b, first: 508 }), /from unit/],
    ['a child pointing back at the root', root, (b) => withEntries(b, (e) => (e[1] = e[0]!)), /already taken/],
    ['an inner entry for units past the end', root, (b) => withEntries(b, (e) => (e[100] = e[0]!)), /past the end/],
    ['an empty node', firstLeaf, (b) => withEntries(b, (e) => e.fill(0)), /maps nothing/],
  ];
  for (const [name, pick, change, message] of cases) {
    it(`${name}: E_CORRUPT`, async () => {
      const path = await sample();
      editMapBlock(path, pick, change);
      await expectOpenFails(path, 'E_CORRUPT', message);
    });
  }

  it('an entry beyond 2^53 (checksum intact) is E_CORRUPT', async () => {
    const path = await sample();
    withFile(path, (file) => {
      file.do(readMap(file, superblock(file).root).entries[0]!, 1, (bytes) => {
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        view.setUint32(32 + 4, 0xffffffff, true);
        view.setUint32(24, crc32(bytes.subarray(32), crc32(bytes.subarray(0, 24))), true);
      });
    });
    await expectOpenFails(path, 'E_CORRUPT', /not a safe integer/);
  });

  it('a unit pointing at a free block is E_CORRUPT', async () => {
    const path = await sample();
    withFile(path, (file) => {
      const spare = file.allocate();
      file.free(spare);
      file.flush();
      const leafAt = readMap(file, superblock(file).root).entries[0]!;
      const leaf = readMap(file, leafAt);
      file.do(leafAt, 1, (bytes) => {
        encodeMapBlock(
          bytes,
          withEntries(leaf, (e) => (e[3] = spare)),
        );
      });
    });
    // a fourth mapped unit also breaks the superblock's count, but the free block is found first
    await expectOpenFails(path, 'E_CORRUPT', /free or already taken/);
  });

  it('random damage to the map or the control data never gets past open untyped (fuzz)', async () => {
    const base = await sample();
    const original = withFile(base, (file) => ({ control: file.controlData(), root: superblock(file).root }));
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(fc.record({ at: fc.nat({ max: UNIT - 1 }), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 8 }),
        async (inControl, edits) => {
          const path = join(temp.path, `fuzz-${serial++}.fmap`);
          copyFileSync(base, path);
          withFile(path, (file) => {
            if (inControl) {
              const control = original.control.slice();
              for (const { at, value } of edits) control[at % control.length] = value;
              file.setControlData(control);
            } else {
              file.do(original.root, 1, (bytes) => {
                for (const { at, value } of edits) bytes[at] = value;
              });
            }
          });
          let device: Awaited<ReturnType<typeof openFmapDevice>>;
          try {
            device = await openFmapDevice(path);
          } catch (error) {
            expect(isBlockError(error, 'IO'), String(error)).toBe(true);
            expect(isFmapError((error as Error).cause), String((error as Error).cause)).toBe(true);
            return;
          }
          // Accepted (the edits kept every field consistent): the device must then be usable.
          const info = await device.getInfo();
          const stats = device.stats();
          expect(stats.leakedBlocks + stats.conflictingBlocks).toBe(0);
          const sample = new Uint8Array(info.sectorSize * Math.min(64, info.sizeSectors));
          await device.read(0, [sample]);
          await device.disconnect();
        },
      ),
      { numRuns: 150 },
    );
  });
});
