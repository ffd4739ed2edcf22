// The addon's I/O engine on its own: readNow (preadv2 RWF_NOWAIT) and the thread pool behind
// ioOpen/ioSubmit, with bad arguments, errors from the kernel, batches larger than the
// completion array, the in-flight limit and use after close.
import { closeSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir, run, runOk } from '@blk/test-kit';
import { afterAll, expect, it } from 'vitest';
import type { FmapNative, NativeIoEngine } from '../src/native-binding.js';
import { nativeDeviceIo } from '../src/native-device-io.js';
import { describeNative } from './helpers/engines.js';

const temp = makeTempDir('blk-fmap-native-io-');
afterAll(() => temp.remove());
let serial = 0;

function file(bytes: number): string {
  const path = join(temp.path, `n-${serial++}.bin`);
  writeFileSync(
    path,
    Uint8Array.from({ length: bytes }, (_, i) => i & 0xff),
  );
  return path;
}

/** An engine whose results are collected per id; `settled(n)` resolves once n have come back. */
function collector(native: FmapNative, pairs = 64) {
  const completions = new Float64Array(2 * pairs);
  const results = new Map<number, number>();
  const batches: number[] = [];
  let want = 0;
  let wake: (() => void) | undefined;
  const engine: NativeIoEngine = native.ioOpen(
    2,
    (count) => {
      batches.push(count);
      for (let i = 0; i < count; i++) {
        const id = completions[2 * i]!;
        expect(results.has(id)).toBe(false);
        results.set(id, completions[2 * i + 1]!);
      }
      if (results.size >= want) wake?.();
    },
    completions,
  );
  const settled = (n: number) => {
    want = n;
    if (results.size >= n) return Promise.resolve();
    return new Promise<void>((resolve) => (wake = resolve));
  };
  return { engine, results, batches, settled };
}

describeNative('the native I/O engine', () => {
  const native = createRequire(import.meta.url)('@blk/fmap-native') as FmapNative;

  it('reads, writes (one buffer or several), fdatasync and ftruncate, never completing inside submit', async () => {
    const path = file(65536);
    const fd = openSync(path, 'r+');
    try {
      const { engine, results, settled } = collector(native);
      const a = new Uint8Array(4096);
      const b = new Uint8Array(100);
      expect(native.ioSubmit(engine, 0, fd, a, 4096, 1)).toBe(true);
      expect(native.ioSubmit(engine, 0, fd, b, 65500, 2)).toBe(true);
      expect(native.ioSubmit(engine, 1, fd, [new Uint8Array(3).fill(7), new Uint8Array(5).fill(8)], 100, 3)).toBe(true);
      expect(native.ioSubmit(engine, 1, fd, new Uint8Array(10).fill(9), 70000, 4)).toBe(true);
      expect(results.size).toBe(0);
      await settled(4);
      expect(native.ioSubmit(engine, 2, fd, null, 0, 5)).toBe(true);
      expect(native.ioSubmit(engine, 3, fd, null, 80000, 6)).toBe(true);
      await settled(6);
      expect([...results].sort((x, y) => x[0] - y[0])).toEqual([
        [1, 4096],
        [2, 36],
        [3, 8],
        [4, 10],
        [5, 0],
        [6, 0],
      ]);
      expect(a[0]).toBe(0);
      expect(a[1]).toBe(1);
      expect(b[0]).toBe(65500 & 0xff);
      const bytes = readFileSync(path);
      expect([...bytes.subarray(100, 108)]).toEqual([7, 7, 7, 8, 8, 8, 8, 8]);
      expect(bytes[70000]).toBe(9);
      expect(statSync(path).size).toBe(80000);
      native.ioClose(engine);
    } finally {
      closeSync(fd);
    }
  });

  it('reports kernel errors as -errno, and the shared engine turns them into Node-style errors', async () => {
    const dir = join(temp.path, `dir-${serial++}`);
    mkdirSync(dir);
    const dirFd = openSync(dir, 'r');
    const roFd = openSync(file(4096), 'r');
    try {
      const { engine, results, settled } = collector(native);
      native.ioSubmit(engine, 0, dirFd, new Uint8Array(16), 0, 1);
      native.ioSubmit(engine, 1, roFd, new Uint8Array(16), 0, 2);
      native.ioSubmit(engine, 0, 99999, new Uint8Array(16), 0, 3);
      await settled(3);
      expect(results.get(1)).toBe(-21); // EISDIR
      expect(results.get(2)).toBe(-9); // EBADF
      expect(results.get(3)).toBe(-9);
      native.ioClose(engine);
      const io = nativeDeviceIo(native)!;
      const error = await new Promise<NodeJS.ErrnoException>((resolve) =>
        io.read(dirFd, new Uint8Array(16), 0, (e) => resolve(e as NodeJS.ErrnoException)),
      );
      expect(error.code).toBe('EISDIR');
      expect(error.syscall).toBe('pread');
      // a directory has no RWF_NOWAIT: "cannot tell" (-2), so the device asks the pool, which says EISDIR
      let answer: unknown;
      try {
        answer = native.readNow(dirFd, new Uint8Array(16), 0);
      } catch (e) {
        answer = (e as NodeJS.ErrnoException).code;
      }
      expect([-2, 'EISDIR']).toContain(answer);
    } finally {
      closeSync(dirFd);
      closeSync(roFd);
    }
  });

  it('readNow answers from the page cache: bytes, 0 at the end of the file', () => {
    const path = file(8192);
    const fd = openSync(path, 'r');
    try {
      readFileSync(path);
      const buffer = new Uint8Array(4096);
      const got = native.readNow(fd, buffer, 4096);
      // -1 is allowed (the kernel may have dropped the page) but not a wrong count
      expect([4096, -1, -2]).toContain(got);
      if (got === 4096) expect(buffer[1]).toBe(1);
      expect([0, -1, -2]).toContain(native.readNow(fd, buffer, 8192));
    } finally {
      closeSync(fd);
    }
  });

  it('writeNow writes every buffer at once, reports whether it slept, and refuses what it cannot take', () => {
    const path = file(8192);
    const fd = openSync(path, 'r+');
    const roFd = openSync(path, 'r');
    const waited = new Float64Array(1).fill(-1);
    try {
      const parts = [new Uint8Array(1000).fill(0xaa), new Uint8Array(0), new Uint8Array(3096).fill(0xbb)];
      expect(native.writeNow(fd, parts, 4096, waited)).toBe(4096);
      expect(waited[0]).toBeGreaterThanOrEqual(0);
      expect(native.writeNow(fd, new Uint8Array(10).fill(0xcc), 0, waited)).toBe(10);
      const back = readFileSync(path);
      expect([back[0], back[9], back[10], back[4096], back[5095], back[5096], back[8191]]).toEqual([
        0xcc, 0xcc, 10, 0xaa, 0xaa, 0xbb, 0xbb,
      ]);
      expect(
        native.writeNow(
          fd,
          Array.from({ length: 65 }, () => new Uint8Array(1)),
          0,
          waited,
        ),
      ).toBe(-1);
      expect(() => native.writeNow(roFd, new Uint8Array(1), 0, waited)).toThrow(expect.objectContaining({ code: 'EBADF' }));
      for (const bad of [
        () => native.writeNow(fd, [] as Uint8Array[], 0, waited),
        () => native.writeNow(fd, [new Uint8Array(1), 'x' as unknown as Uint8Array], 0, waited),
        () => native.writeNow(fd, new Uint8Array(1), -1, waited),
        () => native.writeNow(fd, new Uint8Array(1), 0, new Float32Array(1) as unknown as Float64Array),
      ]) {
        expect(bad).toThrow(TypeError);
      }
    } finally {
      closeSync(fd);
      closeSync(roFd);
    }
  });

  it('delivers batches larger than the completion array, each request once', async () => {
    const path = file(1 << 20);
    const fd = openSync(path, 'r');
    try {
      const { engine, results, batches, settled } = collector(native, 4);
      const buffers = Array.from({ length: 1000 }, () => new Uint8Array(512));
      buffers.forEach((buffer, i) => expect(native.ioSubmit(engine, 0, fd, buffer, i * 512, i)).toBe(true));
      await settled(1000);
      expect(results.size).toBe(1000);
      expect(Math.max(...batches)).toBeLessThanOrEqual(4);
      buffers.forEach((buffer, i) => expect(buffer[1]).toBe(((i * 512) & 0xff) + 1));
      native.ioClose(engine);
    } finally {
      closeSync(fd);
    }
  });

  it('refuses past 4096 outstanding requests, and bad arguments with errors, not crashes', async () => {
    const path = file(4096);
    const fd = openSync(path, 'r');
    try {
      const { engine, settled } = collector(native);
      const buffer = new Uint8Array(1);
      let accepted = 0;
      while (accepted < 5000 && native.ioSubmit(engine, 0, fd, buffer, 0, accepted)) accepted++;
      expect(accepted).toBe(4096);
      const throws = (fn: () => unknown) => expect(fn).toThrow();
      const submit = native.ioSubmit.bind(native) as (...args: unknown[]) => unknown;
      const open = native.ioOpen.bind(native) as (...args: unknown[]) => unknown;
      throws(() => open(0, () => undefined, new Float64Array(2)));
      throws(() => open(17, () => undefined, new Float64Array(2)));
      throws(() => open(1, 'no', new Float64Array(2)));
      throws(() => open(1, () => undefined, new Float32Array(2)));
      throws(() => open(1, () => undefined, new Float64Array(1)));
      throws(() => submit({}, 0, fd, buffer, 0, 1));
      throws(() => submit(engine, 4, fd, buffer, 0, 1));
      throws(() => submit(engine, 0, -1, buffer, 0, 1));
      throws(() => submit(engine, 0, fd, new Uint16Array(2), 0, 1));
      throws(() => submit(engine, 0, fd, [buffer], 0, 1));
      throws(() => submit(engine, 1, fd, [], 0, 1));
      throws(() => submit(engine, 1, fd, [buffer, 'x'], 0, 1));
      throws(() => submit(engine, 0, fd, buffer, -1, 1));
      throws(() => submit(engine, 0, fd, buffer, 0.5, 1));
      throws(() => submit(engine, 0, fd, buffer, 0));
      throws(() => (native.readNow as (...args: unknown[]) => unknown)(fd, [buffer], 0));
      await settled(4096);
      native.ioClose(engine);
      native.ioClose(engine);
      throws(() => native.ioSubmit(engine, 0, fd, buffer, 0, 1));
    } finally {
      closeSync(fd);
    }
  });

  it('requests queued before ioClose still complete', async () => {
    const path = file(65536);
    const fd = openSync(path, 'r');
    try {
      const { engine, results, settled } = collector(native);
      for (let i = 0; i < 64; i++) native.ioSubmit(engine, 0, fd, new Uint8Array(1024), i * 1024, i);
      native.ioClose(engine);
      await settled(64);
      expect([...results.values()].every((bytes) => bytes === 1024)).toBe(true);
    } finally {
      closeSync(fd);
    }
  });

  it('worker threads torn down with requests in flight, and processes exiting with them, do not crash', async () => {
    const cwd = fileURLToPath(new URL('..', import.meta.url));
    const child = fileURLToPath(new URL('fixtures/io-teardown-child.mjs', import.meta.url));
    const result = await runOk(process.execPath, [child, file(4096)], { cwd, timeoutMs: 60_000 });
    expect(result.stdout).toBe('ok\n');
    const exiting = `
      const native = require('@blk/fmap-native');
      const fd = require('node:fs').openSync(process.argv[1], 'r');
      const engine = native.ioOpen(4, () => undefined, new Float64Array(8));
      for (let i = 0; i < 100; i++) native.ioSubmit(engine, 0, fd, new Uint8Array(100), 0, i);
      process.exit(0);`;
    for (let i = 0; i < 5; i++) await runOk(process.execPath, ['-e', exiting, file(4096)], { cwd, timeoutMs: 30_000 });
  });

  it('holds the buffers of queued requests: a caller that drops them while garbage is collected loses nothing', async () => {
    // Without the hold, the collector freed buffers the threads were still filling: heap
    // corruption in 7 of 8 runs of this child.
    const cwd = fileURLToPath(new URL('..', import.meta.url));
    const child = fileURLToPath(new URL('fixtures/io-dropped-buffers-child.mjs', import.meta.url));
    const result = await runOk(process.execPath, ['--expose-gc', child, file(16 * 4096)], { cwd, timeoutMs: 60_000 });
    expect(result.stdout).toBe('ok\n');
  });

  it('an idle pool does not hold the process open; a throwing completion callback is an uncaught exception', async () => {
    const cwd = fileURLToPath(new URL('..', import.meta.url));
    const path = file(4096);
    const idle = `
      const native = require('@blk/fmap-native');
      const fs = require('node:fs');
      const c = new Float64Array(8);
      const fd = fs.openSync(process.argv[1], 'r');
      const e = native.ioOpen(2, (n) => { console.log('done', n, c[1]); }, c);
      native.ioSubmit(e, 0, fd, new Uint8Array(10), 0, 1);`;
    const ok = await runOk(process.execPath, ['-e', idle, path], { cwd, timeoutMs: 30_000 });
    expect(ok.stdout).toBe('done 1 10\n');
    const throwing = idle.replace("console.log('done', n, c[1]);", "throw new Error('boom from the callback');");
    const failed = await run(process.execPath, ['-e', throwing, path], { cwd, timeoutMs: 30_000 });
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain('boom from the callback');
  });
});
