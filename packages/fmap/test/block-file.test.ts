import { existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '@blk/test-kit';
import { afterAll, describe, expect, it } from 'vitest';
import { BlockFile, CONTROL_DATA_CAPACITY, isFmapError, type FmapErrorCode } from '../src/index.js';
import { describeEngines } from './helpers/engines.js';

const temp = makeTempDir('blk-fmap-bf-');
afterAll(() => temp.remove());
let serial = 0;
const fresh = (name = 'f') => join(temp.path, `${name}-${serial++}.fmap`);

function expectCode(fn: () => unknown, code: FmapErrorCode): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(isFmapError(thrown), `expected FmapError ${code}, got ${String(thrown)}`).toBe(true);
  expect((thrown as { code: string }).code).toBe(code);
}

describe('BlockFile.open refuses what is not a BlockFile', () => {
  it('a missing path is E_NOENT and is not created', () => {
    const path = fresh('missing');
    expectCode(() => BlockFile.open(path), 'E_NOENT');
    expect(existsSync(path)).toBe(false);
  });

  it('an empty file is E_SHORT', () => {
    const path = fresh('empty');
    writeFileSync(path, '');
    expectCode(() => BlockFile.open(path), 'E_SHORT');
  });

  it('a few bytes are E_SHORT', () => {
    const path = fresh('tiny');
    writeFileSync(path, 'BLKFMAP');
    expectCode(() => BlockFile.open(path), 'E_SHORT');
  });

  it('a foreign file is E_BAD_MAGIC (fs2 opened 8 KiB of garbage with blksize 1651663207)', () => {
    const path = fresh('foreign');
    writeFileSync(path, Buffer.alloc(8192, 'garbage!'));
    expectCode(() => BlockFile.open(path), 'E_BAD_MAGIC');
  });

  it('a truncated BlockFile is E_SHORT', () => {
    const path = fresh('cut');
    const file = BlockFile.create(path, { blockSize: 4096 });
    file.allocateBlocks(4);
    file.close();
    truncateSync(path, 8192 + 4096);
    expectCode(() => BlockFile.open(path), 'E_SHORT');
  });

  it('a newer format version is E_VERSION, both slots checksummed bad is E_CHECKSUM', () => {
    const path = fresh('version');
    BlockFile.create(path, { blockSize: 4096 }).close();
    const bytes = readFileSync(path);
    const bumped = Buffer.from(bytes);
    bumped.writeUInt16LE(2, 8);
    // recompute nothing: the checksum fails first, which is what a bit flip looks like
    writeFileSync(path, bumped);
    expectCode(() => BlockFile.open(path), 'E_CHECKSUM');
  });

  it('a directory is E_IO, a bad path is E_ARGUMENT', () => {
    expectCode(() => BlockFile.open(temp.path), 'E_IO');
    expectCode(() => BlockFile.open(''), 'E_ARGUMENT');
    expectCode(() => BlockFile.open(42 as unknown as string), 'E_ARGUMENT');
  });

  it('refuses bad block sizes', () => {
    for (const blockSize of [0, 1000, 4095, 4097, 6144, -4096, 1.5, Number.NaN, 2 ** 40]) {
      expectCode(() => BlockFile.create(fresh('bs'), { blockSize }), 'E_BLOCKSIZE');
      expectCode(() => BlockFile.anonymous(blockSize), 'E_BLOCKSIZE');
    }
  });

  it('refuses bad options', () => {
    expectCode(() => BlockFile.create(fresh('opt'), { blockSize: 4096, engine: 'fast' as 'pread' }), 'E_ARGUMENT');
    expectCode(() => BlockFile.create(fresh('opt'), { blockSize: 4096, cacheBytes: -1 }), 'E_ARGUMENT');
  });
});

describeEngines('BlockFile', ({ options }) => {
  const create = (blockSize = 4096) => {
    const path = fresh();
    return { path, file: BlockFile.create(path, { blockSize, ...options }) };
  };

  it('allocates zeroed blocks past the header, in order, and keeps them across close and open', () => {
    const { path, file } = create();
    const a = file.allocate();
    const b = file.allocate();
    expect(a).toBe(8192);
    expect(b).toBe(12288);
    file.do(a, 1, (bytes) => {
      expect(bytes.every((x) => x === 0)).toBe(true);
      bytes.fill(0xab);
    });
    file.setControlData(Uint8Array.of(1, 2, 3));
    file.close();
    const again = BlockFile.open(path, options);
    expect([...again.controlData()]).toEqual([1, 2, 3]);
    expect(again.do(a, 1, (bytes) => bytes.every((x) => x === 0xab))).toBe(true);
    expect(again.do(b, 1, (bytes) => bytes.every((x) => x === 0))).toBe(true);
    expect(again.size()).toBe(16384);
    again.close();
  });

  it('hands a freed block out again zeroed, never the same block twice', () => {
    const { file } = create();
    const blocks = Array.from({ length: 10 }, () => file.allocate());
    file.do(blocks[3]!, 1, (bytes) => bytes.fill(7));
    file.free(blocks[3]!);
    const again = file.allocate();
    expect(again).toBe(blocks[3]);
    expect(file.do(again, 1, (bytes) => bytes.every((x) => x === 0))).toBe(true);
    const next = file.allocate();
    expect(blocks).not.toContain(next);
    file.close();
  });

  it('allocateBlocks gives contiguous zeroed runs at the end', () => {
    const { file } = create(8192);
    const one = file.allocate();
    const run = file.allocateBlocks(4);
    expect(run).toBe(one + 8192);
    expect(file.size()).toBe(run + 4 * 8192);
    const lease = file.get(run, 4);
    expect(lease.bytes.length).toBe(4 * 8192);
    expect(lease.bytes.every((x) => x === 0)).toBe(true);
    lease.release();
    expectCode(() => file.allocateBlocks(0), 'E_ARGUMENT');
    expectCode(() => file.allocateBlocks(-1), 'E_ARGUMENT');
    expectCode(() => file.allocateBlocks(1.5), 'E_ARGUMENT');
    expectCode(() => file.allocateBlocks(2 ** 40), 'E_RANGE');
    file.close();
  });

  it('refuses bad frees: unaligned, header, past the end, not a number, double, leased, free-list page', () => {
    const { file } = create();
    const a = file.allocate();
    const b = file.allocate();
    expectCode(() => file.free(a + 100), 'E_ALIGN');
    expectCode(() => file.free(0), 'E_RANGE');
    expectCode(() => file.free(4096), 'E_RANGE');
    expectCode(() => file.free(b + 4096), 'E_RANGE');
    expectCode(() => file.free(-4096), 'E_RANGE');
    expectCode(() => file.free(Number.NaN), 'E_ARGUMENT');
    expectCode(() => file.free('8192' as unknown as number), 'E_ARGUMENT');
    expectCode(() => file.free(2 ** 60), 'E_ARGUMENT');
    const lease = file.get(a, 1);
    expectCode(() => file.free(a), 'E_OUTSTANDING');
    lease.release();
    file.free(a);
    expectCode(() => file.free(a), 'E_DOUBLE_FREE');
    file.flush();
    expectCode(() => file.free(a), 'E_DOUBLE_FREE');
    const { freeListPages } = file.stats();
    for (const page of freeListPages) expectCode(() => file.free(page), 'E_DOUBLE_FREE');
    // the header is intact after all that
    file.close();
  });

  it('refuses bad gets: free blocks, overlaps, ranges, counts', () => {
    const { file } = create();
    const a = file.allocate();
    const b = file.allocate();
    const c = file.allocate();
    file.free(c);
    expectCode(() => file.get(c, 1), 'E_NOT_ALLOCATED');
    expectCode(() => file.get(a, 3), 'E_NOT_ALLOCATED');
    expectCode(() => file.get(a, 4), 'E_RANGE');
    expectCode(() => file.get(0, 1), 'E_RANGE');
    expectCode(() => file.get(a + 1, 1), 'E_ALIGN');
    expectCode(() => file.get(a, 0), 'E_ARGUMENT');
    expectCode(() => file.get(a, Number.POSITIVE_INFINITY), 'E_ARGUMENT');
    const lease = file.get(a, 2);
    expectCode(() => file.get(b, 1), 'E_OVERLAP');
    expectCode(() => file.get(a, 1), 'E_OVERLAP');
    lease.release();
    file.get(b, 1).release();
    file.close();
  });

  it('leases: double release throws, bytes after release throw, stale views never reach the file', () => {
    const { file } = create();
    const a = file.allocate();
    const lease = file.get(a, 1);
    const stale = lease.bytes;
    stale[0] = 1;
    lease.release();
    expect(lease.released).toBe(true);
    expectCode(() => lease.release(), 'E_RELEASED');
    expectCode(() => lease.bytes, 'E_RELEASED');
    stale[1] = 99;
    file.flush();
    expect(file.do(a, 1, (bytes) => [bytes[0], bytes[1]])).toEqual([1, 0]);
    {
      using scoped = file.get(a, 1);
      scoped.bytes[2] = 5;
    }
    expect(file.do(a, 1, (bytes) => bytes[2])).toBe(5);
    const disposed = file.get(a, 1);
    disposed.release();
    expect(() => {
      disposed[Symbol.dispose]();
    }).not.toThrow();
    file.close();
  });

  it('do releases when the callback throws and refuses async callbacks', () => {
    const { file } = create();
    const a = file.allocate();
    expect(() =>
      file.do(a, 1, (bytes) => {
        bytes[0] = 3;
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(file.stats().liveLeases).toBe(0);
    expect(file.do(a, 1, (bytes) => bytes[0])).toBe(3);
    expectCode(() => file.do(a, 1, async () => Promise.resolve(1)), 'E_ARGUMENT');
    expectCode(() => file.do(a, 1, undefined as unknown as () => void), 'E_ARGUMENT');
    expect(file.stats().liveLeases).toBe(0);
    file.close();
  });

  it('control data: capacity, copies, too large, wrong type', () => {
    const { path, file } = create();
    expect(file.controlData().length).toBe(0);
    const full = new Uint8Array(CONTROL_DATA_CAPACITY).fill(9);
    file.setControlDataNoSync(full);
    full[0] = 1;
    expect(file.controlData()[0]).toBe(9);
    const copy = file.controlData();
    copy[1] = 1;
    expect(file.controlData()[1]).toBe(9);
    expectCode(() => file.setControlDataNoSync(new Uint8Array(CONTROL_DATA_CAPACITY + 1)), 'E_CTRL_TOO_LARGE');
    expectCode(() => file.setControlData(new Uint8Array(CONTROL_DATA_CAPACITY + 1)), 'E_CTRL_TOO_LARGE');
    expectCode(() => file.setControlDataNoSync('x' as unknown as Uint8Array), 'E_ARGUMENT');
    file.close();
    const again = BlockFile.open(path, options);
    expect(again.controlData()).toEqual(new Uint8Array(CONTROL_DATA_CAPACITY).fill(9));
    again.close();
  });

  it('close and remove refuse live leases; everything refuses use after close', () => {
    const { path, file } = create();
    const a = file.allocate();
    const lease = file.get(a, 1);
    expectCode(() => file.close(), 'E_OUTSTANDING');
    expectCode(() => file.remove(), 'E_OUTSTANDING');
    lease.release();
    file.close();
    expect(file.closed).toBe(true);
    const calls: (() => unknown)[] = [
      () => file.allocate(),
      () => file.allocateBlocks(1),
      () => file.free(a),
      () => file.get(a, 1),
      () => file.do(a, 1, () => 0),
      () => file.controlData(),
      () => file.setControlData(new Uint8Array(1)),
      () => file.setControlDataNoSync(new Uint8Array(1)),
      () => file.sync(),
      () => file.flush(),
      () => file.size(),
      () => file.stats(),
      () => file.close(),
    ];
    for (const call of calls) expectCode(call, 'E_CLOSED');
    file.remove();
    expect(existsSync(path)).toBe(false);
    expectCode(() => file.remove(), 'E_NOENT');
  });

  it('remove of an open file closes it without committing', () => {
    const { path, file } = create();
    file.allocate();
    file.remove();
    expect(existsSync(path)).toBe(false);
    expectCode(() => file.allocate(), 'E_CLOSED');
  });

  it('read and write copy part of one block, without a lease, and reach the file at flush', () => {
    const { path, file } = create(8192);
    const [a, b] = [file.allocate(), file.allocate()];
    file.write(a, 100, new Uint8Array(50).fill(7));
    file.write(b, 0, new Uint8Array(8192).fill(9));
    const part = new Uint8Array(60).fill(1);
    file.read(a, 95, part);
    expect([...part.subarray(0, 5), ...part.subarray(55)]).toEqual(new Array<number>(10).fill(0));
    expect(part.subarray(5, 55).every((x) => x === 7)).toBe(true);
    file.write(a, 0, new Uint8Array(0));
    file.read(a, 8192, new Uint8Array(0));
    file.close();
    const again = BlockFile.open(path, options);
    again.do(a, 2, (bytes) => {
      expect(bytes.subarray(100, 150).every((x) => x === 7)).toBe(true);
      expect(bytes.subarray(8192).every((x) => x === 9)).toBe(true);
      expect(bytes.subarray(0, 100).every((x) => x === 0) && bytes.subarray(150, 8192).every((x) => x === 0)).toBe(true);
    });
    again.close();
  });

  it('refuses bad reads and writes: past the block, free, leased, unaligned, not bytes, closed', () => {
    const { file } = create();
    const a = file.allocate();
    const spare = file.allocate();
    file.free(spare);
    const buffer = new Uint8Array(16);
    expectCode(() => file.write(a, 4090, buffer), 'E_RANGE');
    expectCode(() => file.read(a, -1, buffer), 'E_ARGUMENT');
    expectCode(() => file.read(a, 0.5, buffer), 'E_ARGUMENT');
    expectCode(() => file.write(spare, 0, buffer), 'E_NOT_ALLOCATED');
    expectCode(() => file.read(a + 1, 0, buffer), 'E_ALIGN');
    expectCode(() => file.read(0, 0, buffer), 'E_RANGE');
    expectCode(() => file.write(a, 0, [1, 2] as unknown as Uint8Array), 'E_ARGUMENT');
    const lease = file.get(a, 1);
    expectCode(() => file.write(a, 0, buffer), 'E_OVERLAP');
    lease.release();
    file.write(a, 0, buffer);
    file.close();
    expectCode(() => file.read(a, 0, buffer), 'E_CLOSED');
  });

  it('locks: a second open of the same file is E_LOCKED until the first closes', () => {
    const { path, file } = create();
    expectCode(() => BlockFile.open(path, options), 'E_LOCKED');
    expectCode(() => BlockFile.create(path, { blockSize: 4096, ...options }), 'E_LOCKED');
    file.close();
    const again = BlockFile.open(path, options);
    again.close();
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it('a stale lock left by a dead process is taken over', () => {
    const { path, file } = create();
    file.close();
    writeFileSync(`${path}.lock`, '2147483646 deadbeef\n');
    const again = BlockFile.open(path, options);
    again.close();
  });

  it('frees since the last flush are reused only after the next flush (the flushed state stays intact)', () => {
    const { file } = create();
    const a = file.allocate();
    file.flush();
    file.free(a);
    const b = file.allocate();
    expect(b).not.toBe(a);
    file.flush();
    const free = file.stats().free;
    expect(free).toContain(a);
    file.close();
  });

  it('block sizes larger than 4096 keep the header slots and user blocks apart', () => {
    for (const blockSize of [8192, 12288, 65536]) {
      const { path, file } = create(blockSize);
      const a = file.allocate();
      expect(a).toBe(Math.ceil(8192 / blockSize) * blockSize);
      file.do(a, 1, (bytes) => bytes.fill(1));
      file.setControlData(Uint8Array.of(4));
      file.close();
      const again = BlockFile.open(path, options);
      expect(again.blockSize).toBe(blockSize);
      expect(again.do(a, 1, (bytes) => bytes.every((x) => x === 1))).toBe(true);
      again.close();
    }
  });

  it('many frees spill the free list over several pages and come back after reopen', () => {
    const { path, file } = create();
    const run = file.allocateBlocks(1200);
    for (let i = 0; i < 1200; i += 1) file.free(run + i * 4096);
    file.close();
    const again = BlockFile.open(path, options);
    const stats = again.stats();
    expect(stats.freeListPages.length).toBeGreaterThanOrEqual(2);
    const all = new Set([...stats.free, ...stats.freeListPages]);
    for (let i = 0; i < 1200; i++) expect(all.has(run + i * 4096)).toBe(true);
    const seen = new Set<number>();
    for (const _ of stats.free) {
      const got = again.allocate();
      expect(seen.has(got)).toBe(false);
      seen.add(got);
    }
    again.close();
  });
});

describe('BlockFile.anonymous', () => {
  it('allocates, frees, keeps control data, and has no file', () => {
    const file = BlockFile.anonymous(4096);
    expect(file.path).toBeNull();
    const a = file.allocate();
    file.do(a, 1, (bytes) => bytes.fill(2));
    file.free(a);
    expect(file.allocate()).toBe(a);
    expect(file.do(a, 1, (bytes) => bytes.every((x) => x === 0))).toBe(true);
    file.setControlData(Uint8Array.of(5));
    file.sync();
    file.flush();
    expect([...file.controlData()]).toEqual([5]);
    expectCode(() => file.remove(), 'E_ANONYMOUS');
    file.close();
    expectCode(() => file.allocate(), 'E_CLOSED');
  });

  it('grows past one memory chunk', () => {
    const file = BlockFile.anonymous(65536);
    const run = file.allocateBlocks(40);
    file.do(run + 39 * 65536, 1, (bytes) => bytes.fill(1));
    expect(file.do(run + 39 * 65536, 1, (bytes) => bytes[65535])).toBe(1);
    file.close();
  });
});
