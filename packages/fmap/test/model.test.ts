import { join } from 'node:path';
import { makeTempDir } from '@blk/test-kit';
import fc from 'fast-check';
import { afterAll, expect, it } from 'vitest';
import { BlockFile, isFmapError } from '../src/index.js';
import { describeEngines } from './helpers/engines.js';
import { FaultIo } from './helpers/fault-io.js';
import { checkAgainstModel, cloneState, writeStamp, type ModelState } from './helpers/model.js';

const temp = makeTempDir('blk-fmap-model-');
afterAll(() => temp.remove());
let serial = 0;

type Op =
  | { kind: 'allocate' }
  | { kind: 'allocateBlocks'; n: number }
  | { kind: 'free'; pick: number }
  | { kind: 'doubleFree'; pick: number }
  | { kind: 'control'; bytes: Uint8Array }
  | { kind: 'sync' }
  | { kind: 'flush' }
  | { kind: 'reopen' }
  | { kind: 'crash'; losePower: boolean; seed: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'allocate' as const }) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 4 }).map((n) => ({ kind: 'allocateBlocks' as const, n })) },
  { weight: 5, arbitrary: fc.nat().map((pick) => ({ kind: 'free' as const, pick })) },
  { weight: 1, arbitrary: fc.nat().map((pick) => ({ kind: 'doubleFree' as const, pick })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 80 }).map((bytes) => ({ kind: 'control' as const, bytes })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'sync' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'flush' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('crash' as const), losePower: fc.boolean(), seed: fc.nat() }),
  },
);

function random(seed: number): () => number {
  let x = seed | 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describeEngines('BlockFile against a model', ({ name, options }) => {
  it('never hands a block out twice, zeroes new blocks, keeps the free count, survives reopen and crashes', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), (ops) => {
        const path = join(temp.path, `model-${serial++}.fmap`);
        let io = new FaultIo();
        let file = BlockFile.create(path, { blockSize: 4096, ...options, io });
        let model: ModelState = { allocated: new Map(), control: new Uint8Array(0) };
        let committed = cloneState(model);
        const freed: number[] = [];
        let stamp = 1;
        const take = (offset: number) => {
          expect(model.allocated.has(offset), `block ${offset} handed out twice`).toBe(false);
          expect(
            file.do(offset, 1, (bytes) => bytes.every((x) => x === 0)),
            `block ${offset} is not zero`,
          ).toBe(true);
          writeStamp(file, offset, stamp);
          model.allocated.set(offset, stamp++);
        };
        try {
          for (const op of ops) {
            switch (op.kind) {
              case 'allocate':
                take(file.allocate());
                break;
              case 'allocateBlocks': {
                const first = file.allocateBlocks(op.n);
                for (let i = 0; i < op.n; i++) take(first + i * 4096);
                break;
              }
              case 'free': {
                const keys = [...model.allocated.keys()];
                if (keys.length === 0) break;
                const offset = keys[op.pick % keys.length]!;
                file.free(offset);
                model.allocated.delete(offset);
                freed.push(offset);
                break;
              }
              case 'doubleFree': {
                const candidates = freed.filter((offset) => !model.allocated.has(offset));
                if (candidates.length === 0) break;
                const offset = candidates[op.pick % candidates.length]!;
                let code = '';
                try {
                  file.free(offset);
                } catch (error) {
                  code = isFmapError(error) ? error.code : String(error);
                }
                // past the end after a crash rolled the high-water mark back, else a double free
                expect(['E_DOUBLE_FREE', 'E_RANGE']).toContain(code);
                break;
              }
              case 'control':
                file.setControlDataNoSync(op.bytes);
                model.control = op.bytes.slice();
                break;
              case 'sync':
                file.sync();
                break;
              case 'flush':
                file.flush();
                committed = cloneState(model);
                break;
              case 'reopen':
                file.close();
                committed = cloneState(model);
                io = new FaultIo();
                file = BlockFile.open(path, { ...options, io });
                break;
              case 'crash': {
                const fd = [...io.fds][0]!;
                io.cut();
                if (op.losePower && name === 'pread') {
                  const lose = random(op.seed);
                  io.losePower(fd, () => lose() < 0.5);
                }
                expect(() => {
                  file.close();
                }).toThrow();
                io = new FaultIo();
                file = BlockFile.open(path, { ...options, io });
                model = cloneState(committed);
                freed.length = 0;
                break;
              }
            }
            checkAgainstModel(file, model);
          }
          file.close();
          const reopened = BlockFile.open(path, options);
          checkAgainstModel(reopened, model);
          reopened.remove();
        } finally {
          if (!file.closed) file.remove();
        }
      }),
      { numRuns: 120 },
    );
  });
});
