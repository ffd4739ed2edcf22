import { join } from 'node:path';
import { makeTempDir } from '@blk/test-kit';
import { afterAll, expect, it } from 'vitest';
import { BlockFile, isFmapError } from '../src/index.js';
import { nodeFileIo, type FileIo } from '../src/file-io.js';
import { describeEngines } from './helpers/engines.js';
import { readStamp, writeStamp } from './helpers/model.js';

const temp = makeTempDir('blk-fmap-failed-commit-');
afterAll(() => temp.remove());
let serial = 0;

/**
 * A FileIo whose fdatasync fails (EIO) right after a header slot was written: the header is in
 * the file but the commit did not return — it may or may not be what a crash leaves.
 */
class HeaderSyncFails implements FileIo {
  armed = false;
  #headerWritten = false;
  read(fd: number, dst: Uint8Array, position: number): number {
    return nodeFileIo.read(fd, dst, position);
  }
  write(fd: number, src: Uint8Array, position: number): void {
    nodeFileIo.write(fd, src, position);
    if (this.armed && position < 8192) this.#headerWritten = true;
  }
  datasync(fd: number): void {
    if (this.#headerWritten) {
      this.#headerWritten = false;
      this.armed = false;
      throw Object.assign(new Error('EIO: injected after the header write'), { code: 'EIO' });
    }
    nodeFileIo.datasync(fd);
  }
  truncate(fd: number, length: number): void {
    nodeFileIo.truncate(fd, length);
  }
  size(fd: number): number {
    return nodeFileIo.size(fd);
  }
}

const pointerTo = (offset: number) => new Uint8Array(new BigUint64Array([BigInt(offset)]).buffer);

describeEngines('a flush that fails once its header write has started', ({ options }) => {
  it('leaves the blocks of that commit allocated: a free waits for the next commit, allocate() does not hand them out', () => {
    const path = join(temp.path, `failed-${serial++}.fmap`);
    const io = new HeaderSyncFails();
    const file = BlockFile.create(path, { blockSize: 4096, ...options, io });
    const block = file.allocate();
    expect(block).toBe(8192);
    writeStamp(file, block, 0xaaaa);
    file.setControlDataNoSync(pointerTo(block));
    io.armed = true;
    let code = '';
    try {
      file.flush();
    } catch (error) {
      code = isFmapError(error) ? error.code : String(error);
    }
    expect(code).toBe('E_IO');
    // The header of seq 1 is in the file: a crash now may recover it, with 8192 allocated.
    file.free(block);
    const again = file.allocate();
    expect(again, 'the block of the failed commit was handed out again').not.toBe(block);
    writeStamp(file, again, 0xbbbb);
    file.close({ commit: false });

    const reopened = BlockFile.open(path, options);
    expect(reopened.stats().seq).toBe(1);
    expect(reopened.controlData()).toEqual(pointerTo(block));
    expect(readStamp(reopened, block), 'block 8192 of commit 1 was overwritten').toEqual([0xaaaa, 0xaaaa]);
    reopened.close();
  });

  it('makes those blocks reusable after the next commit succeeds (nothing leaks)', () => {
    const path = join(temp.path, `failed-${serial++}.fmap`);
    const io = new HeaderSyncFails();
    const file = BlockFile.create(path, { blockSize: 4096, ...options, io });
    const blocks = [file.allocate(), file.allocate(), file.allocate()];
    for (const [i, b] of blocks.entries()) writeStamp(file, b, i + 1);
    io.armed = true;
    expect(() => {
      file.flush();
    }).toThrow();
    file.free(blocks[0]!);
    file.free(blocks[1]!);
    // freed but held back: neither handed out nor lost
    expect(file.stats().free).toEqual(expect.arrayContaining([blocks[0], blocks[1]]));
    const fresh = file.allocate();
    expect(blocks).not.toContain(fresh);
    file.free(fresh);
    file.flush();
    const after = new Set([file.allocate(), file.allocate(), file.allocate()]);
    expect(after.has(blocks[0]!) || after.has(blocks[1]!), 'freed blocks come back after a successful commit').toBe(true);
    const stats = file.stats();
    const owned = stats.free.length + stats.freeListPages.length + after.size + 1;
    expect(owned).toBe((stats.size - stats.firstBlock) / stats.blockSize);
    file.close();
  });

  it('keeps a block reused since the last commit allocated too (it is allocated in the failed commit)', () => {
    const path = join(temp.path, `failed-${serial++}.fmap`);
    const io = new HeaderSyncFails();
    const file = BlockFile.create(path, { blockSize: 4096, ...options, io });
    const blocks = [file.allocate(), file.allocate(), file.allocate(), file.allocate()];
    for (const [i, b] of blocks.entries()) writeStamp(file, b, i + 1);
    file.free(blocks[1]!);
    file.free(blocks[2]!);
    file.flush(); // commit 1: one of those two holds the free list, the other is free
    const reused = file.allocate();
    expect([blocks[1], blocks[2]]).toContain(reused);
    writeStamp(file, reused, 3);
    file.setControlDataNoSync(pointerTo(reused));
    io.armed = true;
    expect(() => {
      file.flush();
    }).toThrow();
    file.free(reused);
    expect(file.allocate()).not.toBe(reused);
    file.close({ commit: false });
    const reopened = BlockFile.open(path, options);
    expect(reopened.stats().seq).toBe(2);
    expect(readStamp(reopened, reused)).toEqual([3, 3]);
    reopened.close();
  });
});
