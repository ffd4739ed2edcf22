import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { itWhen, makeTempDir, runOk } from '@blk/test-kit';
import { afterAll, expect, it } from 'vitest';
import { BlockFile, isFmapError } from '../src/index.js';
import { nodeFileIo, type FileIo } from '../src/file-io.js';
import { describeEngines, describeNative } from './helpers/engines.js';
import { distMissing } from './helpers/missing.js';
import { checkAgainstModel, cloneState, writeStamp, type ModelState } from './helpers/model.js';

const temp = makeTempDir('blk-fmap-faults-');
afterAll(() => temp.remove());
let serial = 0;

/** A FileIo whose writes or fdatasyncs fail (EIO) while `failing` is set, then recover. */
class FlakyIo implements FileIo {
  failing: 'write' | 'datasync' | undefined;
  /** How many EIOs were thrown: each must come out of flush as E_IO. */
  injected = 0;
  read(fd: number, dst: Uint8Array, position: number): number {
    return nodeFileIo.read(fd, dst, position);
  }
  truncate(fd: number, length: number): void {
    nodeFileIo.truncate(fd, length);
  }
  size(fd: number): number {
    return nodeFileIo.size(fd);
  }
  write(fd: number, src: Uint8Array, position: number): void {
    if (this.failing === 'write') this.#fail();
    nodeFileIo.write(fd, src, position);
  }
  datasync(fd: number): void {
    if (this.failing === 'datasync') this.#fail();
    nodeFileIo.datasync(fd);
  }
  #fail(): never {
    this.injected++;
    throw Object.assign(new Error('EIO: injected'), { code: 'EIO' });
  }
}

describeEngines('faults in the middle of work', ({ name, options }) => {
  for (const failing of ['write', 'datasync'] as const) {
    it(`a failing ${failing} makes flush throw E_IO; the file stays usable and the next flush commits`, () => {
      const path = join(temp.path, `flaky-${serial++}.fmap`);
      const io = new FlakyIo();
      const file = BlockFile.create(path, { blockSize: 4096, ...options, io });
      const model: ModelState = { allocated: new Map(), control: new Uint8Array(0) };
      let stamp = 1;
      const add = () => {
        const offset = file.allocate();
        writeStamp(file, offset, stamp);
        model.allocated.set(offset, stamp++);
      };
      for (let i = 0; i < 5; i++) add();
      file.flush();
      for (let round = 0; round < 6; round++) {
        const victim = [...model.allocated.keys()][round % model.allocated.size]!;
        file.free(victim);
        model.allocated.delete(victim);
        add();
        add();
        io.failing = failing;
        io.injected = 0;
        let code = '';
        try {
          file.flush();
        } catch (error) {
          code = isFmapError(error) ? error.code : String(error);
        }
        io.failing = undefined;
        // every flush syncs, and the pread engine writes its dirty blocks through FileIo; the mmap
        // engine writes data through the mapping, so a failing write may not be reached there
        if (failing === 'datasync' || name === 'pread') expect(io.injected).toBeGreaterThan(0);
        // an EIO that reached the file must come out of flush, never be swallowed
        expect(code).toBe(io.injected > 0 ? 'E_IO' : '');
        checkAgainstModel(file, model);
        file.flush();
        checkAgainstModel(file, model);
      }
      const committed = cloneState(model);
      file.close();
      const again = BlockFile.open(path, options);
      checkAgainstModel(again, committed);
      again.close();
    });
  }
});

describeNative('the mmap engine and its reservation', () => {
  it('grows past its reserved address space by remapping, but not while a lease is live', () => {
    const path = join(temp.path, `reserve-${serial++}.fmap`);
    const file = BlockFile.create(path, { blockSize: 4096, engine: 'mmap', mapReserve: 1 << 20 });
    const first = file.allocate();
    file.do(first, 1, (bytes) => bytes.fill(3));
    const lease = file.get(first, 1);
    let code = '';
    try {
      for (let i = 0; i < 2000; i++) file.allocate();
    } catch (error) {
      code = isFmapError(error) ? error.code : String(error);
    }
    expect(code).toBe('E_OUTSTANDING');
    expect(lease.bytes[0]).toBe(3);
    lease.release();
    const run = file.allocateBlocks(2048);
    file.do(run + 2047 * 4096, 1, (bytes) => bytes.fill(4));
    expect(file.do(first, 1, (bytes) => bytes[4095])).toBe(3);
    file.close();
    const again = BlockFile.open(path, { engine: 'mmap', mapReserve: 1 << 20 });
    expect(again.do(run + 2047 * 4096, 1, (bytes) => bytes[0])).toBe(4);
    again.close();
  });

  itWhen(distMissing)('a full disk (file-size limit) is an E_IO error, not SIGBUS', async () => {
    const child = fileURLToPath(new URL('fixtures/full-disk-child.mjs', import.meta.url));
    for (const engine of ['mmap', 'pread']) {
      const path = join(temp.path, `full-${engine}-${serial++}.fmap`);
      const result = await runOk('sh', ['-c', `ulimit -f 4096; exec "${process.execPath}" "${child}" "${path}" ${engine}`], {
        timeoutMs: 60_000,
      });
      const out = JSON.parse(result.stdout) as { outcome: string; code?: string; cause?: string };
      expect(out, engine).toMatchObject({ outcome: 'error', code: 'E_IO', cause: 'EFBIG' });
    }
  });
});
