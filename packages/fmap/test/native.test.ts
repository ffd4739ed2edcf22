import { createRequire } from 'node:module';
import { closeSync, openSync, readFileSync, statSync, writeSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir, runOk } from '@blk/test-kit';
import { afterAll, describe, expect, it } from 'vitest';
import { nativeStatus } from '../src/index.js';
import type { FmapNative } from '../src/native-binding.js';
import { describeNative } from './helpers/engines.js';

const temp = makeTempDir('blk-fmap-native-');
afterAll(() => temp.remove());

describeNative('the native addon', () => {
  const native = createRequire(import.meta.url)('@blk/fmap-native') as FmapNative;

  it('views are detached by unmap: stale views read nothing, ignore writes and never fault', () => {
    const path = join(temp.path, 'map.bin');
    const fd = openSync(path, 'w+');
    try {
      ftruncateSync(fd, 65536);
      const mapping = native.map(fd, 1 << 20);
      const buffer = native.view(mapping, 0, 65536);
      const bytes = new Uint8Array(buffer);
      bytes[10] = 42;
      native.sync(mapping, 0, 65536, true);
      expect(readFileSync(path)[10]).toBe(42);
      native.unmap(mapping);
      expect(buffer.byteLength).toBe(0);
      expect(bytes.length).toBe(0);
      expect(bytes[10]).toBeUndefined();
      bytes[10] = 1;
      expect(() => Buffer.from(buffer).readUInt32LE(0)).toThrow();
      native.unmap(mapping);
      expect(() => native.view(mapping, 0, 4096)).toThrow();
      expect(() => native.sync(mapping, 0, 4096, false)).toThrow();
    } finally {
      closeSync(fd);
    }
  });

  it('refuses bad arguments with errors, not crashes', () => {
    const path = join(temp.path, 'args.bin');
    const fd = openSync(path, 'w+');
    try {
      ftruncateSync(fd, 8192);
      const call = (fn: () => unknown) => expect(fn).toThrow();
      call(() => native.map(-1, 4096));
      call(() => native.map(fd, 0));
      call(() => native.map(fd, -5));
      call(() => native.map(fd, 1.5));
      call(() => native.map(fd, Number.NaN));
      call(() => (native.map as (...a: unknown[]) => unknown)());
      call(() => native.map(9999, 4096));
      const mapping = native.map(fd, 1 << 16);
      call(() => native.view(mapping, 1 << 16, 1));
      call(() => native.view(mapping, 0, (1 << 16) + 1));
      call(() => native.view({}, 0, 1));
      call(() => native.sync(mapping, 0, 1 << 20, false));
      call(() => native.seekData(-1, 0));
      call(() => native.punchHole(fd, -1, 10));
      native.unmap(mapping);
    } finally {
      closeSync(fd);
    }
  });

  it('seekData/seekHole see holes, and -1 means none (ENXIO)', () => {
    const path = join(temp.path, 'holes.bin');
    const fd = openSync(path, 'w+');
    try {
      ftruncateSync(fd, 1 << 20);
      expect(native.seekData(fd, 0)).toBe(-1);
      writeSync(fd, Buffer.alloc(4096, 1), 0, 4096, 65536);
      expect(native.seekData(fd, 0)).toBe(65536);
      expect(native.seekHole(fd, 65536)).toBe(65536 + 4096);
      expect(native.seekHole(fd, 1 << 20)).toBe(-1);
      expect(native.punchHole(fd, 65536, 4096)).toBe(true);
      expect(native.seekData(fd, 0)).toBe(-1);
      expect(statSync(path).size).toBe(1 << 20);
    } finally {
      closeSync(fd);
    }
  });

  it('finalizers after unmap, and views outliving their mapping object, never fault (child with --expose-gc)', async () => {
    const child = fileURLToPath(new URL('fixtures/gc-child.mjs', import.meta.url));
    const result = await runOk(process.execPath, ['--expose-gc', child, join(temp.path, 'gc.bin')], {
      timeoutMs: 60_000,
      cwd: fileURLToPath(new URL('..', import.meta.url)),
    });
    expect(result.stdout).toBe('ok\n');
  });
});

describe('without the addon', () => {
  it('reports why it is not there when disabled; the pread engine and the file device (on libuv) still work', async () => {
    const script = `
      import { BlockFile, nativeStatus, openFileDevice } from './src/index.ts';
      const status = nativeStatus();
      let code = '';
      try { BlockFile.anonymous(4096); BlockFile.create(process.argv[1], { blockSize: 4096, engine: 'mmap' }); } catch (e) { code = e.code; }
      const f = BlockFile.create(process.argv[1], { blockSize: 4096 });
      const a = f.allocate(); f.close();
      const device = await openFileDevice(process.argv[1] + '.img', { create: true, sizeSectors: 8 });
      await device.write(1, [new Uint8Array(512).fill(4)]);
      const back = new Uint8Array(512);
      await device.read(1, [back]);
      await device.disconnect();
      console.log(JSON.stringify({ status, code, engine: 'pread', a, io: device.ioEngine, byte: back[511] }));`;
    const result = await runOk(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script, join(temp.path, 'no-native.fmap')],
      {
        env: { ...process.env, BLK_FMAP_NATIVE: '0' },
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        timeoutMs: 60_000,
      },
    );
    const out = JSON.parse(result.stdout) as {
      status: { available: boolean; reason: string };
      code: string;
      a: number;
      io: string;
      byte: number;
    };
    expect(out.io).toBe('libuv');
    expect(out.byte).toBe(4);
    expect(out.status.available).toBe(false);
    expect(out.status.reason).toContain('BLK_FMAP_NATIVE=0');
    expect(out.code).toBe('E_NO_MMAP');
    expect(out.a).toBe(8192);
  });

  it('nativeStatus says whether the addon loaded', () => {
    expect(typeof nativeStatus().available).toBe('boolean');
  });
});
