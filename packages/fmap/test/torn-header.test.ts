import { openSync, closeSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '@blk/test-kit';
import { afterAll, expect, it } from 'vitest';
import { BlockFile, isFmapError } from '../src/index.js';
import { describeEngines } from './helpers/engines.js';
import { FaultIo, SimulatedCrash } from './helpers/fault-io.js';
import { checkAgainstModel, cloneState, writeStamp, type ModelState } from './helpers/model.js';

const temp = makeTempDir('blk-fmap-torn-');
afterAll(() => temp.remove());
let serial = 0;

/** The injected crash surfaces as E_IO with the SimulatedCrash as its cause. */
function expectCrash(fn: () => void): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(isFmapError(thrown, 'E_IO'), String(thrown)).toBe(true);
  expect((thrown as Error).cause).toBeInstanceOf(SimulatedCrash);
}

describeEngines('torn header writes', ({ name, options }) => {
  /** A file with one flushed state (A), then more changes whose flush will be torn. */
  function prepare() {
    const path = join(temp.path, `torn-${serial++}.fmap`);
    const io = new FaultIo();
    const file = BlockFile.create(path, { blockSize: 4096, ...options, io });
    const model: ModelState = { allocated: new Map(), control: Uint8Array.of(1) };
    for (let i = 0; i < 6; i++) {
      const offset = file.allocate();
      writeStamp(file, offset, 100 + i);
      model.allocated.set(offset, 100 + i);
    }
    file.setControlData(model.control);
    const flushed = cloneState(model);
    const victim = [...model.allocated.keys()][2]!;
    file.free(victim);
    model.allocated.delete(victim);
    const extra = file.allocate();
    writeStamp(file, extra, 999);
    model.allocated.set(extra, 999);
    // long enough that the checksummed part of the header spans 7 of its 8 sectors
    model.control = new Uint8Array(3000).fill(2);
    file.setControlDataNoSync(model.control);
    return { path, io, file, flushed, model };
  }

  for (let sectors = 0; sectors <= 8; sectors++) {
    const complete = sectors * 512 >= 64 + 3000;
    it(`a header write torn after ${sectors} of 8 sectors recovers the ${complete ? 'new state (checksummed part complete)' : 'previous flush'}`, () => {
      const { path, io, file, flushed, model } = prepare();
      io.tearAt = (_index, position, length) => (position < 8192 && length === 4096 ? sectors : undefined);
      expectCrash(() => {
        file.flush();
      });
      expect(() => {
        file.close();
      }).toThrow();
      const again = BlockFile.open(path, options);
      // once every checksummed byte is written the header is whole, and the new state is right
      checkAgainstModel(again, complete ? model : flushed);
      again.close();
    });
  }

  // the mmap engine writes free-list pages through the mapping, where FileIo cannot tear them
  if (name !== 'mmap') {
    it('a torn free-list page (before the header) recovers the previous flush', () => {
      const { path, io, file, flushed } = prepare();
      io.tearAt = (_index, position) => (position >= 8192 ? 3 : undefined);
      expectCrash(() => {
        file.close();
      });
      const again = BlockFile.open(path, options);
      checkAgainstModel(again, flushed);
      again.close();
    });
  }

  it('garbage in the newest slot falls back to the older one or fails typed, never crashes', () => {
    for (let trial = 0; trial < 20; trial++) {
      const { path, file } = prepare();
      file.flush();
      const seq = file.stats().seq;
      file.close();
      const fd = openSync(path, 'r+');
      const junk = Buffer.alloc(1 + ((trial * 97) % 4096), trial);
      writeSync(fd, junk, 0, junk.length, (seq % 2) * 4096 + ((trial * 131) % 64));
      closeSync(fd);
      try {
        const again = BlockFile.open(path, options);
        expect(again.stats().seq).toBeLessThan(seq);
        again.close();
      } catch (error) {
        expect(isFmapError(error), String(error)).toBe(true);
        expect(['E_CHECKSUM', 'E_CORRUPT']).toContain((error as { code: string }).code);
      }
    }
  });

  it('both slots damaged is E_CHECKSUM', () => {
    const { path, file } = prepare();
    file.close();
    const bytes = readFileSync(path);
    const fd = openSync(path, 'r+');
    for (const slot of [0, 4096]) writeSync(fd, Buffer.from([bytes[slot + 20]! ^ 0xff]), 0, 1, slot + 20);
    closeSync(fd);
    let code = '';
    try {
      BlockFile.open(path, options).close();
    } catch (error) {
      code = isFmapError(error) ? error.code : String(error);
    }
    expect(code).toBe('E_CHECKSUM');
  });
});
