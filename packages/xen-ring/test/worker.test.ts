import { isBlockError } from '@blk/core';
import { expectBlockError, pattern } from '@blk/conformance';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
// The worker entry only exists built: these run against what consumers get.
import { connectWorker, type Blkfront, type ConnectWorkerOptions, type DeviceDescription } from '../dist/index.js';

const FIXTURES = new URL('./fixtures/devices.mjs', import.meta.url).href;

/** connectWorker that also hands back the worker and a promise of its exit. */
async function start(description: DeviceDescription, options: ConnectWorkerOptions = {}) {
  let worker: Worker | undefined;
  let exited: Promise<number> | undefined;
  const attempt = connectWorker(description, {
    from: import.meta.url,
    ...options,
    onWorker: (w) => {
      worker = w;
      exited = new Promise((resolve) => w.once('exit', resolve));
    },
  });
  return { attempt, worker: () => worker!, exited: () => exited! };
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => {
      clearTimeout(timer);
    }),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms))),
  ]);
}

describe('connectWorker', () => {
  it('serves a package device from a worker and ends the worker on disconnect', async () => {
    const { attempt, exited } = await start({ module: '@blk/ramdisk', export: 'Ramdisk', options: { sizeSectors: 4096 } });
    const front: Blkfront = await attempt;
    try {
      expect(await front.getInfo()).toEqual({ readWrite: true, sectorSize: 512, sizeSectors: 4096 });
      expect(front.negotiated).toMatchObject({ persistent: true, indirect: true });
      const data = pattern(10, 2048, 512);
      await front.write(10, [data]);
      const out = new Uint8Array(data.length);
      await front.read(10, [out]);
      expect(Buffer.compare(out, data)).toBe(0);
    } finally {
      await front.disconnect();
    }
    expect(await within(exited(), 10_000, 'worker exit')).toBe(0);
  });

  it('resolves a relative path and a file URL from the caller, and passes options through', async () => {
    for (const module of ['./fixtures/devices.mjs', FIXTURES]) {
      const { attempt } = await start({ module, export: 'flakyRamdisk', options: { sizeSectors: 64, failEvery: 1000 } });
      const front = await attempt;
      expect((await front.getInfo()).sizeSectors).toBe(64);
      await front.disconnect();
    }
  });

  it('turns device failures in the worker into IO errors for exactly those requests', async () => {
    const { attempt } = await start({ module: FIXTURES, export: 'flakyRamdisk', options: { sizeSectors: 256, failEvery: 4 } });
    const front = await attempt;
    try {
      const outcomes: string[] = [];
      for (let i = 0; i < 12; i++) {
        outcomes.push(
          await front.write(i, [new Uint8Array(512).fill(i + 1)]).then(
            () => 'ok',
            (e: unknown) => (isBlockError(e, 'IO') ? 'IO' : String(e)),
          ),
        );
      }
      expect(outcomes).toEqual(['ok', 'ok', 'ok', 'IO', 'ok', 'ok', 'ok', 'IO', 'ok', 'ok', 'ok', 'IO']);
      const out = new Uint8Array(512);
      await front.read(4, [out]);
      expect(out[0]).toBe(5);
    } finally {
      await front.disconnect();
    }
  });

  it('a backend thread that dies fails what is in flight and what follows with IO, and disconnect still returns', async () => {
    const { attempt, exited } = await start({ module: FIXTURES, export: 'crashingRamdisk', options: { sizeSectors: 64, crashAt: 3 } });
    const front = await attempt;
    await front.read(0, [new Uint8Array(512)]);
    await front.read(0, [new Uint8Array(512)]);
    await expectBlockError(within(front.read(0, [new Uint8Array(512)]), 10_000, 'read in flight'), 'IO');
    expect(await within(exited(), 10_000, 'worker exit')).not.toBe(0);
    await expectBlockError(front.write(0, [new Uint8Array(512)]), 'IO');
    await within(front.disconnect(), 15_000, 'disconnect');
    await expectBlockError(front.getInfo(), 'DISCONNECTED');
  });

  const bad: [string, DeviceDescription][] = [
    ['a module that does not exist', { module: './fixtures/nope.mjs', export: 'x' }],
    ['a package that cannot be resolved', { module: '@blk/not-a-package' }],
    ['a missing export', { module: FIXTURES, export: 'missing' }],
    ['an export that makes no device', { module: FIXTURES, export: 'notADevice' }],
    ['a device constructor that throws', { module: FIXTURES, export: 'throwsWhenBuilt' }],
  ];
  for (const [name, description] of bad) {
    it(`rejects ${name} with INVALID_ARGUMENT and leaves no worker behind`, async () => {
      let exited: Promise<number> | undefined;
      const attempt = connectWorker(description, {
        from: import.meta.url,
        onWorker: (w) => {
          exited = new Promise((resolve) => w.once('exit', resolve));
        },
      });
      await expectBlockError(attempt, 'INVALID_ARGUMENT');
      if (exited) await within(exited, 10_000, 'worker exit');
    });
  }

  it('does not keep the process alive while idle, but does while a request is in flight', async () => {
    // A child process connects, finishes a write (which needs the process kept alive until the
    // answer comes) and then forgets the device: it must exit on its own.
    const script = `
      import { connectWorker } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
      const front = await connectWorker({ module: '@blk/ramdisk', export: 'Ramdisk', options: { sizeSectors: 64 } }, { from: ${JSON.stringify(import.meta.url)} });
      front.write(0, [new Uint8Array(512).fill(1)]).then(() => console.log('written'));
    `;
    const { execFile } = await import('node:child_process');
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string; killed: boolean }>((resolve) => {
      const child = execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 }, (error, stdout, stderr) => {
        resolve({ code: child.exitCode, stdout, stderr, killed: error?.killed ?? false });
      });
    });
    expect(result.killed, 'the process had to be killed').toBe(false);
    expect(result.stdout.trim(), result.stderr).toBe('written');
    expect(result.code).toBe(0);
  });
});
