// The behaviour fs2's four fmap tests check (create, open, allocate, free), on both engines and
// on an anonymous file — written afresh from what they assert, not from their code.
import { join } from 'node:path';
import { makeTempDir } from '@blk/test-kit';
import { afterAll, expect, it } from 'vitest';
import { BlockFile } from '../src/index.js';
import { describeEngines } from './helpers/engines.js';

const temp = makeTempDir('blk-fmap-fs2-');
afterAll(() => temp.remove());
let serial = 0;

/** Every byte is zero except `bytes[at] === value`. */
function onlyByte(bytes: Uint8Array, at: number, value: number): boolean {
  return bytes.every((b, i) => b === (i === at ? value : 0));
}

describeEngines('fs2 parity', ({ options }) => {
  it('create gives a 4096-byte block file, open finds the same block size', () => {
    const path = join(temp.path, `fs2-${serial++}.fmap`);
    const created = BlockFile.create(path, { blockSize: 4096, ...options });
    expect(created.blockSize).toBe(4096);
    created.close();
    const opened = BlockFile.open(path, options);
    expect(opened.blockSize).toBe(4096);
    opened.close();
    opened.remove();
  });

  it('allocate: a write of byte 15 reads back, every other byte zero', () => {
    const file = BlockFile.create(join(temp.path, `fs2-${serial++}.fmap`), { blockSize: 4096, ...options });
    const offset = file.allocate();
    file.do(offset, 1, (bytes) => {
      bytes[15] = 12;
    });
    expect(file.do(offset, 1, (bytes) => onlyByte(bytes, 15, 12))).toBe(true);
    file.close();
    file.remove();
  });
});

it('fs2 parity: free on an anonymous file hands the same block back, zeroed', () => {
  const file = BlockFile.anonymous(4096);
  const offset = file.allocate();
  file.do(offset, 1, (bytes) => {
    bytes[15] = 12;
  });
  expect(file.do(offset, 1, (bytes) => onlyByte(bytes, 15, 12))).toBe(true);
  file.free(offset);
  const again = file.allocate();
  expect(again).toBe(offset);
  expect(file.do(again, 1, (bytes) => bytes.every((b) => b === 0))).toBe(true);
  file.close();
});
