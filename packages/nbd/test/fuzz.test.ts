// Random bytes at every stage: a server fed garbage (before and after the handshake) never
// crashes and keeps serving others; a client fed garbage by a server fails cleanly.
import { isBlockError } from '@blk/core';
import { Ramdisk } from '@blk/ramdisk';
import { makeTempDir } from '@blk/test-kit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Option } from '../src/constants.js';
import { connect, type NbdDevice } from '../src/index.js';
import { encodeOption } from '../src/option-codec.js';
import { fakeServer } from './helpers/fake-server.js';
import { RawClient } from './helpers/raw-client.js';
import { exportFresh, useServer } from './helpers/server-fixture.js';

const fixture = useServer({ limits: { handshakeTimeoutMs: 2000 } });
let name: string;
beforeAll(() => {
  name = exportFresh(fixture, new Ramdisk({ sizeSectors: 256 }));
});

async function stillServes(): Promise<void> {
  const device = await connect({ path: fixture.path, exportName: name });
  const sector = new Uint8Array(512);
  await device.read(0, [sector]);
  await device.disconnect();
}

describe('the server fed random bytes', () => {
  it('survives garbage in the handshake, with and without a valid start', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.boolean(), async (garbage, validStart) => {
        const c = await RawClient.connect(fixture.path);
        try {
          await c.read(18);
          if (validStart) c.send(Buffer.from([0, 0, 0, 3]), encodeOption(Option.STRUCTURED_REPLY));
          c.send(garbage);
          c.socket.end();
          await c.closedWithin(3000);
        } finally {
          c.close();
        }
      }),
      { numRuns: 40 },
    );
    await stillServes();
  });

  it('survives garbage in the transmission phase', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 2000 }), fc.boolean(), async (garbage, structured) => {
        const c = await RawClient.connect(fixture.path);
        try {
          await c.open(name, { structured, blockStatus: structured });
          c.send(garbage);
          c.socket.end();
          await c.closedWithin(3000);
        } finally {
          c.close();
        }
      }),
      { numRuns: 40 },
    );
    await stillServes();
    expect(fixture.errors.filter((e) => !/violated the protocol|unknown client flags|option|EXPORT_NAME|plaintext|handshake|closed|magic|ECONNRESET|EPIPE/.test(e.message)).map((e) => e.message)).toEqual([]);
  });
});

describe('the client fed random bytes', () => {
  let dir: { path: string; remove(): void };
  beforeAll(() => {
    dir = makeTempDir('blk-nbd-fuzz-');
  });
  afterAll(() => {
    dir.remove();
  });

  it('rejects connect or requests cleanly, never hangs past its timeouts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 400 }), fc.boolean(), async (garbage, afterHandshake) => {
        const server = await fakeServer(dir.path, async (c) => {
          if (afterHandshake) {
            await c.handshake();
            await c.request();
          }
          c.send(garbage);
        });
        try {
          let device: NbdDevice;
          try {
            device = await connect({ path: server.path, handshakeTimeoutMs: 500, requestTimeoutMs: 500, closeGraceMs: 100 });
          } catch (e) {
            expect(isBlockError(e)).toBe(true);
            return;
          }
          const outcome = await device.read(0, [new Uint8Array(512)]).then(
            () => 'ok',
            (e: unknown) => (e instanceof Error ? e.name : 'other'),
          );
          expect(['ok', 'BlockError']).toContain(outcome);
          await device.disconnect();
        } finally {
          await server.close();
        }
      }),
      { numRuns: 30 },
    );
  });
});
