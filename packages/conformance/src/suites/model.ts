import { sameBytes, type BlockDevice, type BlockInfo } from '@blk/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MIN_SECTORS, type DeviceFactory } from '../device-fixture.js';
import { pattern, splitSectors } from '../patterns.js';

type Op =
  | { kind: 'write'; at: number; count: number; seed: number; split: number[] }
  | { kind: 'read'; at: number; count: number }
  | { kind: 'discard' | 'writeZeroes'; at: number; count: number }
  | { kind: 'resize'; percent: number }
  | { kind: 'flush' }
  | { kind: 'seek'; at: number };

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      at: fc.nat(),
      count: fc.integer({ min: 1, max: 16 }),
      seed: fc.nat(),
      split: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('read' as const), at: fc.nat(), count: fc.integer({ min: 0, max: 32 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constantFrom('discard' as const, 'writeZeroes' as const),
      at: fc.nat(),
      count: fc.integer({ min: 0, max: 24 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('resize' as const), percent: fc.integer({ min: 25, max: 200 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('flush' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('seek' as const), at: fc.nat() }) },
);

/** The plain byte-array model: content per byte, and whether each sector's content is known. */
class Model {
  bytes: Uint8Array;
  known: Uint8Array;

  constructor(
    readonly sectorSize: number,
    sizeSectors: number,
  ) {
    this.bytes = new Uint8Array(sizeSectors * sectorSize);
    this.known = new Uint8Array(sizeSectors).fill(1);
  }

  get size(): number {
    return this.known.length;
  }

  write(sector: number, data: Uint8Array): void {
    this.bytes.set(data, sector * this.sectorSize);
    this.known.fill(1, sector, sector + data.byteLength / this.sectorSize);
  }

  zero(sector: number, count: number): void {
    this.bytes.fill(0, sector * this.sectorSize, (sector + count) * this.sectorSize);
    this.known.fill(1, sector, sector + count);
  }

  /** A discard that does not promise zeroes leaves the content unknown until rewritten. */
  forget(sector: number, count: number): void {
    this.known.fill(0, sector, sector + count);
  }

  resize(size: number): void {
    const bytes = new Uint8Array(size * this.sectorSize);
    bytes.set(this.bytes.subarray(0, Math.min(this.bytes.byteLength, bytes.byteLength)));
    const known = new Uint8Array(size).fill(1);
    known.set(this.known.subarray(0, Math.min(this.known.length, size)));
    this.bytes = bytes;
    this.known = known;
  }
}

async function verify(device: BlockDevice, model: Model, sector: number, count: number, step: string): Promise<void> {
  const ss = model.sectorSize;
  const got = new Uint8Array(count * ss);
  await device.read(sector, [got]);
  for (let s = 0; s < count; s++) {
    if (!model.known[sector + s]) continue;
    const want = model.bytes.subarray((sector + s) * ss, (sector + s + 1) * ss);
    if (!sameBytes(got.subarray(s * ss, (s + 1) * ss), want)) {
      expect.fail(`${step}: sector ${sector + s} differs from the model`);
    }
  }
}

const FULL_VERIFY_BYTES = 512 * 1024;

async function verifyAfter(device: BlockDevice, model: Model, touched: [number, number], step: string): Promise<void> {
  if (model.bytes.byteLength <= FULL_VERIFY_BYTES) return verify(device, model, 0, model.size, step);
  const from = Math.max(0, touched[0] - 2);
  const to = Math.min(model.size, touched[0] + touched[1] + 2);
  await verify(device, model, from, to - from, step);
}

async function apply(device: BlockDevice, info: BlockInfo, model: Model, op: Op, initial: number): Promise<[number, number]> {
  const size = model.size;
  const ss = info.sectorSize;
  const place = (at: number, count: number): [number, number] => {
    const sector = at % (size + 1);
    return [sector, Math.min(count, size - sector)];
  };
  switch (op.kind) {
    case 'write': {
      if (!device.supports.write) return [0, 0];
      const [sector, count] = place(op.at, op.count);
      const data = pattern(sector, count, ss, op.seed);
      await device.write(sector, splitSectors(data.slice(), ss, op.split));
      model.write(sector, data);
      return [sector, count];
    }
    case 'read': {
      const [sector, count] = place(op.at, op.count);
      await verify(device, model, sector, count, `read ${sector}+${count}`);
      return [sector, count];
    }
    case 'discard':
    case 'writeZeroes': {
      const fn = device[op.kind]?.bind(device);
      if (!fn || !device.supports.write) return [0, 0];
      const [sector, count] = place(op.at, op.count);
      await fn(sector, count);
      if (op.kind === 'writeZeroes' || device.supports.discardZeroes) model.zero(sector, count);
      else model.forget(sector, count);
      return [sector, count];
    }
    case 'resize': {
      if (!device.resize || !device.supports.write) return [0, 0];
      const next = Math.max(MIN_SECTORS, Math.min(2 * initial, Math.round((initial * op.percent) / 100)));
      await device.resize(next);
      model.resize(next);
      expect((await device.getInfo()).sizeSectors).toBe(next);
      return [Math.max(0, Math.min(size, next) - 4), 8];
    }
    case 'flush':
      await device.flush?.();
      return [0, 0];
    case 'seek': {
      if (!device.seekMapped || !device.seekUnmapped) return [0, 0];
      const sector = op.at % (size + 1);
      const mapped = await device.seekMapped(sector);
      const unmapped = await device.seekUnmapped(sector);
      expect(mapped >= sector && mapped <= size && unmapped >= sector && unmapped <= size).toBe(true);
      for (let s = sector; s < mapped; s++) {
        if (model.known[s] && model.bytes.subarray(s * ss, (s + 1) * ss).some((b) => b !== 0)) {
          expect.fail(`seekMapped(${sector}) = ${mapped} skips sector ${s}, which holds data`);
        }
      }
      if (unmapped < size && model.known[unmapped] && model.bytes.subarray(unmapped * ss, (unmapped + 1) * ss).some((b) => b !== 0)) {
        expect.fail(`seekUnmapped(${sector}) = ${unmapped}, but that sector holds data`);
      }
      return [sector, 1];
    }
  }
}

export function modelTests(factory: DeviceFactory, runs: number): void {
  describe('model-based random operations', () => {
    it(`matches a plain byte-array model after every step (${runs} random runs)`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opArbitrary, { minLength: 1, maxLength: 25 }), async (ops) => {
          const device = await factory();
          try {
            const info = await device.getInfo();
            const model = new Model(info.sectorSize, info.sizeSectors);
            for (const [i, op] of ops.entries()) {
              const touched = await apply(device, info, model, op, info.sizeSectors);
              await verifyAfter(device, model, touched, `step ${i} (${op.kind})`);
            }
            await verify(device, model, 0, Math.min(model.size, (8 << 20) / info.sectorSize), 'final');
          } finally {
            await device.disconnect();
          }
        }),
        { numRuns: runs },
      );
    });
  });
}
