import { sameBytes } from '@blk/core';
import { Ramdisk } from '@blk/ramdisk';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { overlay, overlayTopBytes, type Overlay } from '../src/index.js';
import { VolatileDisk } from './helpers/volatile-disk.js';

const SS = 512;
const SECTORS = 64;

type Op =
  | { kind: 'write'; at: number; count: number; seed: number }
  | { kind: 'read'; at: number; count: number }
  | { kind: 'discard' | 'writeZeroes'; at: number; count: number }
  | { kind: 'flush' | 'reopen' | 'commit' }
  | { kind: 'crash'; keep: number }
  | { kind: 'crashInFlush'; keep: number; flushes: number };

const at = fc.integer({ min: 0, max: SECTORS });
const ops: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      at,
      count: fc.integer({ min: 1, max: 24 }),
      seed: fc.integer({ min: 1, max: 250 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('read' as const), at, count: fc.integer({ min: 0, max: 32 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constantFrom('discard' as const, 'writeZeroes' as const), at, count: fc.integer({ min: 0, max: 24 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('flush' as const, 'reopen' as const, 'commit' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const), keep: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('crashInFlush' as const), keep: fc.nat(), flushes: fc.integer({ min: 0, max: 1 }) }),
  },
);

function fillPattern(bytes: Uint8Array, seed: number): Uint8Array {
  for (let i = 0; i < bytes.byteLength; i++) bytes[i] = (seed * 31 + i * 7 + (i >> 9)) & 0xff || 1;
  return bytes;
}

const sector = (bytes: Uint8Array, s: number) => bytes.subarray(s * SS, (s + 1) * SS);
const same = sameBytes;

/**
 * The model: the bytes the overlay must read, the bytes a crash must keep (as of the last flush),
 * and for each sector changed since then every content it had, any of which a crash may leave.
 */
class Model {
  readonly now: Uint8Array;
  durable: Uint8Array;
  since = new Map<number, Uint8Array[]>();

  constructor(initial: Uint8Array) {
    this.now = initial.slice();
    this.durable = initial.slice();
  }

  set(first: number, data: Uint8Array): void {
    this.now.set(data, first * SS);
    for (let s = first; s < first + data.byteLength / SS; s++) {
      const seen = this.since.get(s) ?? [];
      seen.push(sector(this.now, s).slice());
      this.since.set(s, seen);
    }
  }

  settle(): void {
    this.durable = this.now.slice();
    this.since.clear();
  }
}

async function readAll(ov: Overlay): Promise<Uint8Array> {
  const bytes = new Uint8Array(SECTORS * SS);
  await ov.read(0, [bytes]);
  return bytes;
}

describe('overlay against a byte-array model', () => {
  it('reads what the model holds after writes, zeroes, reads, flushes, reopens, crashes and commits', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(512, 1024, 4096, 8192),
        fc.array(ops, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 200 }),
        async (blockSize, steps, baseSeed) => {
          const base = new Ramdisk({ sizeSectors: SECTORS });
          const initial = fillPattern(new Uint8Array(SECTORS * SS), baseSeed);
          // Some of the base holds data, some reads zero (its seek then reports holes).
          initial.fill(0, 16 * SS, 40 * SS);
          await base.write(0, [initial]);
          await base.discard(16, 24);
          const disk = new VolatileDisk(SS, overlayTopBytes(SECTORS * SS, { blockSize }) / SS);
          let ov = await overlay(base, disk.device(), { blockSize });
          const model = new Model(initial);
          try {
            for (const [i, op] of steps.entries()) {
              const where = `step ${i} (${JSON.stringify(op)})`;
              const place = (count: number): [number, number] => [
                Math.min(op.kind === 'flush' ? 0 : (op as { at: number }).at, SECTORS),
                count,
              ];
              switch (op.kind) {
                case 'write': {
                  const [s, n0] = place(op.count);
                  const n = Math.min(n0, SECTORS - s);
                  if (n === 0) break;
                  const data = fillPattern(new Uint8Array(n * SS), op.seed);
                  await ov.write(s, [data.slice()]);
                  model.set(s, data);
                  break;
                }
                case 'discard':
                case 'writeZeroes': {
                  const [s, n0] = place(op.count);
                  const n = Math.min(n0, SECTORS - s);
                  await ov[op.kind]!(s, n);
                  model.set(s, new Uint8Array(n * SS));
                  break;
                }
                case 'read': {
                  const [s, n0] = place(op.count);
                  const n = Math.min(n0, SECTORS - s);
                  const got = new Uint8Array(n * SS).fill(0xee);
                  await ov.read(s, [got]);
                  expect(same(got, model.now.subarray(s * SS, (s + n) * SS)), where).toBe(true);
                  break;
                }
                case 'flush':
                  await ov.flush!();
                  model.settle();
                  break;
                case 'reopen':
                  await ov.disconnect();
                  ov = await overlay(base, disk.device());
                  model.settle();
                  break;
                case 'commit': {
                  await ov.commit();
                  expect(ov.changes, where).toEqual({ dataBlocks: 0, zeroBlocks: 0 });
                  const onBase = new Uint8Array(SECTORS * SS);
                  await base.read(0, [onBase]);
                  expect(same(onBase, model.now), `${where}: the base after commit`).toBe(true);
                  model.settle();
                  break;
                }
                case 'crash':
                case 'crashInFlush': {
                  // The old overlay is dropped without a disconnect, as a killed process would.
                  let bits = op.keep;
                  const keep = () => ((bits = (bits * 1103515245 + 12345) >>> 0) & 0x10000) !== 0;
                  if (op.kind === 'crash') disk.crash(keep);
                  else {
                    disk.crashAtFlush(op.flushes, keep);
                    const flushed = await ov.flush!().then(
                      () => true,
                      () => false,
                    );
                    // A flush with nothing to write makes one call of the disk's flush, not two.
                    if (flushed) disk.crash(keep);
                  }
                  ov = await overlay(base, disk.device());
                  const got = await readAll(ov);
                  for (let s = 0; s < SECTORS; s++) {
                    const seen = sector(got, s);
                    if (same(seen, sector(model.durable, s))) continue;
                    const since = model.since.get(s) ?? [];
                    if (!since.some((c) => same(c, seen)))
                      expect.fail(`${where}: sector ${s} after the crash is neither its flushed content nor anything written since`);
                  }
                  model.now.set(got);
                  model.settle();
                  break;
                }
              }
              expect(same(await readAll(ov), model.now), `${where}: whole device`).toBe(true);
            }
            await ov.disconnect();
            ov = await overlay(base, disk.device());
            expect(same(await readAll(ov), model.now), 'after a final reopen').toBe(true);
          } finally {
            await ov.disconnect();
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
