// Mutated frames and random bytes at every stage: a server fed them (before and after the
// handshake) never crashes, closes once the client ends, reaches many reject paths and keeps
// serving others; a client fed garbage by a server fails cleanly.
import { isBlockError } from '@blk/core';
import { Ramdisk } from '@blk/ramdisk';
import { makeTempDir } from '@blk/test-kit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIMPLE_REPLY_MAGIC, STRUCTURED_REPLY_MAGIC, isErrorReply } from '../src/constants.js';
import { connect, type NbdDevice } from '../src/index.js';
import { decodeOptionReplyHeader } from '../src/option-codec.js';
import { fakeServer } from './helpers/fake-server.js';
import { clientFlags, optionFrames, requestFrames } from './helpers/fuzz-frames.js';
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

/** Reject paths a run reached: option reply errors, request errnos, and the server's own reports. */
function recordErrors(outcomes: Set<string>, from: number): void {
  for (const e of fixture.errors.slice(from)) outcomes.add(`error: ${e.message.replace(/0x[0-9a-f]+|\d+/g, '#')}`);
}

/** Reads the option replies left in `c`'s buffer (up to the first that is not one) into `outcomes`. */
function recordOptionReplies(c: RawClient, outcomes: Set<string>): void {
  while (c.reader.length >= 20) {
    const header = decodeOptionReplyHeader(c.reader.peek(20));
    if (!header || c.reader.length < 20 + header.length) return;
    c.reader.skip(20 + header.length);
    if (isErrorReply(header.type)) outcomes.add(`option reply ${header.type.toString(16)}`);
  }
}

/** Reads the replies left in `c`'s buffer (structured replies were negotiated) into `outcomes`. */
function recordReplies(c: RawClient, outcomes: Set<string>): void {
  while (c.reader.length >= 16) {
    const head = c.reader.peek(20 <= c.reader.length ? 20 : 16);
    const magic = head.readUInt32BE(0);
    if (magic === SIMPLE_REPLY_MAGIC) {
      const error = head.readUInt32BE(4);
      if (error !== 0) outcomes.add(`errno ${error}`);
      c.reader.skip(16);
    } else if (magic === STRUCTURED_REPLY_MAGIC && head.length === 20) {
      const type = head.readUInt16BE(6);
      const length = head.readUInt32BE(16);
      if (c.reader.length < 20 + length) return;
      const payload = c.reader.peek(20 + length).subarray(20);
      // an error chunk: errno, then the server's message, which names the check that refused
      if (type & 0x8000)
        outcomes.add(
          `errno ${payload.readUInt32BE(0)}: ${payload
            .subarray(6, 6 + payload.readUInt16BE(4))
            .toString()
            .replace(/0x[0-9a-f]+|\d+/g, '#')}`,
        );
      c.reader.skip(20 + length);
    } else {
      return;
    }
  }
}

/**
 * One connection: `begin` takes it to the phase under test, `frames` are sent and the client ends
 * its side; the server must close within 3 s. What it answered goes into `outcomes` via `record`.
 */
async function feed(
  begin: (c: RawClient) => Promise<unknown>,
  frames: readonly Buffer[],
  record: (c: RawClient, outcomes: Set<string>) => void,
  outcomes: Set<string>,
): Promise<void> {
  const errorsBefore = fixture.errors.length;
  const c = await RawClient.connect(fixture.path);
  try {
    await begin(c);
    c.send(...frames);
    c.socket.end();
    expect(await c.closedWithin(3000)).toBe(true);
    record(c, outcomes);
    recordErrors(outcomes, errorsBefore);
  } finally {
    c.close();
  }
}

describe('the server fed mutated frames and random bytes', () => {
  // a fuzzer stuck on one check (say, the magic) reaches only one or two distinct outcomes
  it('closes every handshake it cannot use once the client ends, and reaches many reject paths', async () => {
    const outcomes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(clientFlags, fc.array(optionFrames(name), { minLength: 1, maxLength: 6 }), (flags, frames) =>
        feed((c) => c.read(18), [flags, ...frames], recordOptionReplies, outcomes),
      ),
      { numRuns: 80 },
    );
    await stillServes();
    expect(outcomes.size, [...outcomes].join('\n')).toBeGreaterThanOrEqual(6);
  });

  it('answers or closes on every mutated request, closes once the client ends, and reaches many reject paths', async () => {
    const outcomes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.array(requestFrames(256 * 512), { minLength: 1, maxLength: 8 }), fc.boolean(), (frames, blockStatus) =>
        feed((c) => c.open(name, { structured: true, blockStatus }), frames, recordReplies, outcomes),
      ),
      { numRuns: 80 },
    );
    await stillServes();
    expect(outcomes.size, [...outcomes].join('\n')).toBeGreaterThanOrEqual(6);
  });

  it('survives pure garbage after the handshake, closing once the client ends', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 2000 }), fc.boolean(), (garbage, structured) =>
        feed(
          (c) => c.open(name, { structured, blockStatus: structured }),
          [Buffer.from(garbage)],
          () => undefined,
          new Set(),
        ),
      ),
      { numRuns: 20 },
    );
    await stillServes();
    expect(
      fixture.errors
        .filter(
          (e) =>
            !/violated the protocol|unknown client flags|option|EXPORT_NAME|plaintext|handshake|closed|magic|ECONNRESET|EPIPE/.test(
              e.message,
            ),
        )
        .map((e) => e.message),
    ).toEqual([]);
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
