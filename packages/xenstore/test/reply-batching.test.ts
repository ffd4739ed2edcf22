import type { Duplex } from 'node:stream';
import { waitFor } from '@blk/test-kit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameWriter } from '../src/codec/frame-writer.js';
import { createServer, encodeFrame, FrameDecoder, MessageType as T, type Frame } from '../src/index.js';

const text = (payload: Uint8Array): string => Buffer.from(payload).toString('latin1');
const frame = (type: number, payload: string, reqId: number): Uint8Array =>
  encodeFrame({ type, reqId, txId: 0, payload: Buffer.from(payload, 'latin1') });
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('FrameWriter against a list of frames', () => {
  const command = fc.oneof(
    fc.record({ op: fc.constant('push' as const), sizes: fc.array(fc.nat(300), { minLength: 1, maxLength: 5 }) }),
    fc.record({ op: fc.constant('run' as const) }),
    fc.record({ op: fc.constant('hold' as const), on: fc.boolean() }),
    fc.record({ op: fc.constant('kick' as const) }),
    fc.record({ op: fc.constant('flush' as const) }),
  );

  it('writes every frame once, in order; a held batch leaves at the first kick or flush after the hold ends', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 60 }), (commands) => {
        const decoder = new FrameDecoder();
        const written: Frame[] = [];
        const scheduled: (() => void)[] = [];
        let hold = false;
        const writer = new FrameWriter(
          (bytes) => written.push(...decoder.push(bytes).frames),
          (flush) => scheduled.push(flush),
          () => hold,
        );
        const model: Frame[] = [];
        /** A scheduled flush found the batch held: the owner now owes a kick. */
        const kick = { owed: false };
        const runScheduled = () => {
          for (const flush of scheduled.splice(0)) {
            if (hold && writer.bytes > 0) kick.owed = true;
            flush();
          }
        };
        for (const c of commands) {
          if (c.op === 'push') {
            for (const size of c.sizes) {
              const f = { type: T.READ, reqId: model.length + 1, txId: 7, payload: new Uint8Array(size).fill(model.length % 251) };
              model.push(f);
              writer.push(f.type, f.reqId, f.txId, f.payload);
            }
          } else if (c.op === 'run') {
            const pending = writer.bytes;
            const due = scheduled.length > 0;
            runScheduled();
            if (due && !hold) expect(writer.bytes).toBe(0);
            else if (!due) expect(writer.bytes).toBe(pending);
          } else if (c.op === 'hold') hold = c.on;
          else if (c.op === 'kick') {
            writer.kick();
            kick.owed = false;
          } else {
            writer.flush();
            kick.owed = false;
          }
          // What was written is a prefix of what was pushed; the rest is exactly what is pending.
          expect(written).toEqual(model.slice(0, written.length));
          const rest = model.slice(written.length).reduce((n, f) => n + 16 + f.payload.length, 0);
          expect(writer.bytes).toBe(rest);
          // Something pending always has a flush on the way, or its owner owes a kick.
          if (writer.bytes > 0 && !kick.owed) expect(scheduled.length).toBeGreaterThan(0);
        }
        hold = false;
        writer.kick();
        runScheduled();
        expect(written).toEqual(model);
      }),
    );
  });
});

interface Op {
  readonly kind: 'write' | 'read';
  readonly key: number;
  readonly size: number;
}

const opArb = fc.record({
  kind: fc.constantFrom('write' as const, 'read' as const),
  key: fc.nat(3),
  // Small values batch across turns; large ones pass the batch size at once.
  size: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1000, max: 3000 })),
});

/** A client of the in-process pair that sends `ops` cut at `cuts` and reads with pauses. */
interface Side {
  readonly name: 'p' | 'q';
  readonly ops: Op[];
  readonly cuts: number[];
  readonly pauses: number[];
}

/** Every frame the server sends this side, in the order a server answering one request at a time would. */
function expectedOwn(side: Side): string[] {
  const values = new Map<number, string>();
  const out: string[] = [];
  side.ops.forEach((op, i) => {
    const reqId = i + 1;
    if (op.kind === 'write') {
      const value = `${side.name}${i}`.padEnd(op.size, '.');
      values.set(op.key, value);
      out.push(`event /${side.name}/k${op.key} ${side.name}`);
      out.push(`${reqId} ${T.WRITE} OK\0`);
    } else {
      const value = values.get(op.key);
      out.push(value === undefined ? `${reqId} ${T.ERROR} ENOENT\0` : `${reqId} ${T.READ} ${value}`);
    }
  });
  return out;
}

function describeFrame(f: Frame): string {
  if (f.type !== T.WATCH_EVENT) return `${f.reqId} ${f.type} ${text(f.payload)}`;
  const [path, token] = text(f.payload).split('\0');
  return `event ${path} ${token}`;
}

function requestBytes(side: Side): Buffer {
  return Buffer.concat(
    side.ops.map((op, i) =>
      op.kind === 'write'
        ? frame(T.WRITE, `/${side.name}/k${op.key}\0${`${side.name}${i}`.padEnd(op.size, '.')}`, i + 1)
        : frame(T.READ, `/${side.name}/k${op.key}\0`, i + 1),
    ),
  );
}

async function send(stream: Duplex, bytes: Buffer, cuts: number[]): Promise<void> {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let at = 0;
  for (const point of [...points, bytes.length]) {
    if (point > at) stream.write(bytes.subarray(at, point));
    at = point;
    await turn();
  }
}

/** Collects frames, pausing the stream for `pauses[i]` turns after its i-th chunk. */
function receive(stream: Duplex, pauses: number[]): Frame[] {
  const decoder = new FrameDecoder();
  const frames: Frame[] = [];
  let chunks = 0;
  stream.on('data', (chunk: Uint8Array) => {
    frames.push(...decoder.push(chunk).frames);
    const wait = pauses[chunks++ % Math.max(1, pauses.length)] ?? 0;
    if (wait > 0) {
      stream.pause();
      void (async () => {
        for (let i = 0; i < wait; i++) await turn();
        stream.resume();
      })();
    }
  });
  return frames;
}

const sideArb = (name: 'p' | 'q') =>
  fc.record({
    name: fc.constant(name),
    ops: fc.array(opArb, { minLength: 1, maxLength: 40 }),
    cuts: fc.array(fc.nat(200_000), { maxLength: 6 }),
    pauses: fc.array(fc.nat(4), { maxLength: 6 }),
  });

describe('replies batched across turns', () => {
  it('two pipelined connections that watch each other get their replies and events in request order, whatever the chunking and reading', async () => {
    await fc.assert(
      fc.asyncProperty(sideArb('p'), sideArb('q'), async (p, q) => {
        const server = createServer();
        try {
          const sides = [p, q];
          const streams = sides.map(() => server.connectAs(0));
          const received = sides.map((side, i) => receive(streams[i]!, side.pauses));
          // Each side watches both subtrees with a token naming its own.
          streams.forEach((s, i) => {
            s.write(Buffer.concat([frame(T.WATCH, `/p\0${sides[i]!.name}\0`, 9000), frame(T.WATCH, `/q\0${sides[i]!.name}\0`, 9001)]));
          });
          await waitFor(() => received.every((r) => r.length === 4), 'the watches and their first events');
          received.forEach((r) => r.splice(0));
          await Promise.all(sides.map((side, i) => send(streams[i]!, requestBytes(side), side.cuts)));
          const writesOf = (side: Side) => side.ops.filter((op) => op.kind === 'write');
          const total = (i: number) => expectedOwn(sides[i]!).length + writesOf(sides[1 - i]!).length;
          await waitFor(() => received.every((r, i) => r.length >= total(i)), 'every reply and event');
          sides.forEach((side, i) => {
            const other = sides[1 - i]!;
            const got = received[i]!.map(describeFrame);
            expect(got.length).toBe(total(i));
            // Its own frames exactly as a one-at-a-time server sends them; the other side's writes
            // reach it as events in the order they were made.
            const isOther = (d: string) => d.startsWith(`event /${other.name}/`);
            expect(got.filter((d) => !isOther(d))).toEqual(expectedOwn(side));
            expect(got.filter(isOther)).toEqual(
              other.ops.flatMap((op) => (op.kind === 'write' ? [`event /${other.name}/k${op.key} ${side.name}`] : [])),
            );
          });
          expect(server.stats().queuedBytes).toBe(0);
        } finally {
          await server.close();
        }
      }),
      { numRuns: 40 },
    );
  });
});
