// fs2's fmap scenarios on both engines, plus 4 KiB random block I/O through leases, each
// interleaved (A B A B …) with the anchor in the same run: raw
// fs.readSync / fs.writeSync of 4 KiB blocks at random offsets of the 64 MiB data area of the
// same file. Run: pnpm --filter @blk/fmap bench
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { interleave, makeTempDir, median, rate, reportBench, type BenchRow } from '@blk/test-kit';
import { BlockFile, nativeStatus } from '../src/index.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const MIN_MS = 200;
const BLOCK = 4096;
const DATA_BLOCKS = 16384; // 64 MiB
const temp = makeTempDir('blk-fmap-bench-');
let serial = 0;

let seed = 12345;
const random = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
};

const scratch = Buffer.alloc(BLOCK);

/** The anchor: plain positioned 4 KiB syscalls on the file under test, over its 64 MiB data area. */
function rawAnchor(path: string, first: number) {
  const fd = openSync(path, 'r+');
  const at = () => first + Math.floor(random() * DATA_BLOCKS) * BLOCK;
  return {
    read: () => rate(() => readSync(fd, scratch, 0, BLOCK, at()), 1, MIN_MS),
    write: () => rate(() => writeSync(fd, scratch, 0, BLOCK, at()), 1, MIN_MS),
    close: () => {
      closeSync(fd);
    },
  };
}
type Anchor = ReturnType<typeof rawAnchor>;

type Engine = 'pread' | 'mmap';
const engines: Engine[] = nativeStatus().available ? ['pread', 'mmap'] : ['pread'];

function fresh(engine: Engine): BlockFile {
  return BlockFile.create(join(temp.path, `bench-${serial++}.fmap`), { blockSize: BLOCK, engine, lock: false });
}

/** A file with DATA_BLOCKS allocated blocks of real data, for random I/O. */
function dataFile(engine: Engine): { file: BlockFile; first: number } {
  const file = fresh(engine);
  const first = file.allocateBlocks(DATA_BLOCKS);
  for (let i = 0; i < DATA_BLOCKS; i++) file.do(first + i * BLOCK, 1, (b) => b.fill(7));
  file.flush();
  return { file, first };
}

interface Scenario {
  readonly name: string;
  readonly anchor: 'read' | 'write';
  /** Returns ops/s for one sample. */
  readonly sample: () => Promise<number>;
}

let sink = 0;

function scenarios(engine: Engine): { list: Scenario[]; anchor: Anchor; close(): void } {
  const data = dataFile(engine);
  const anchor = rawAnchor(data.file.path!, data.first);
  const steady = fresh(engine);
  for (let i = 0; i < 1000; i++) steady.allocate();
  const control = new Uint8Array(64).fill(3);
  const close = () => {
    anchor.close();
    data.file.close();
    steady.close();
  };
  const list: Scenario[] = [
    {
      name: 'allocate, growth path',
      anchor: 'write',
      sample: async () => {
        const file = fresh(engine);
        const r = await rate(
          () => {
            for (let i = 0; i < 256; i++) file.allocate();
          },
          256,
          MIN_MS,
        );
        file.remove();
        return r;
      },
    },
    {
      name: 'allocate + free pair, steady state',
      anchor: 'write',
      sample: () =>
        rate(
          () => {
            for (let i = 0; i < 1000; i++) steady.free(steady.allocate());
          },
          1000,
          MIN_MS,
        ),
    },
    {
      name: 'allocateBlocks(4)',
      anchor: 'write',
      sample: async () => {
        const file = fresh(engine);
        const r = await rate(
          () => {
            for (let i = 0; i < 64; i++) file.allocateBlocks(4);
          },
          64,
          MIN_MS,
        );
        file.remove();
        return r;
      },
    },
    {
      name: 'do(1 block), one-byte read',
      anchor: 'read',
      sample: () => {
        const at = data.first + 100 * BLOCK;
        return rate(
          () => {
            for (let i = 0; i < 1000; i++) sink += data.file.do(at, 1, (b) => b[17]!);
          },
          1000,
          MIN_MS,
        );
      },
    },
    {
      name: 'setControlDataNoSync(64 B)',
      anchor: 'write',
      sample: () =>
        rate(
          () => {
            for (let i = 0; i < 1000; i++) steady.setControlDataNoSync(control);
          },
          1000,
          MIN_MS,
        ),
    },
    {
      name: 'flush after one allocate+free (2× fdatasync)',
      anchor: 'write',
      sample: () =>
        rate(
          () => {
            steady.free(steady.allocate());
            steady.flush();
          },
          1,
          MIN_MS,
        ),
    },
    {
      name: '4 KiB random read through a lease',
      anchor: 'read',
      sample: () =>
        rate(
          () => {
            const lease = data.file.get(data.first + Math.floor(random() * DATA_BLOCKS) * BLOCK, 1);
            scratch.set(lease.bytes);
            lease.release();
          },
          1,
          MIN_MS,
        ),
    },
    {
      name: '4 KiB random write through a lease',
      anchor: 'write',
      sample: () =>
        rate(
          () => {
            data.file.do(data.first + Math.floor(random() * DATA_BLOCKS) * BLOCK, 1, (b) => {
              b.set(scratch);
              b[0] = (b[0]! + 1) & 0xff;
            });
          },
          1,
          MIN_MS,
        ),
    },
  ];
  return { list, anchor, close };
}

const rows: BenchRow[] = [];
const nsPerOp: Record<string, number> = {};
for (const engine of engines) {
  const set = scenarios(engine);
  for (const scenario of set.list) {
    const anchor = scenario.anchor === 'read' ? set.anchor.read : set.anchor.write;
    const { subject, anchor: anchorSamples } = await interleave(ROUNDS, scenario.sample, anchor);
    const name = `[${engine}] ${scenario.name}`;
    rows.push({
      name,
      unit: 'ops/s',
      value: median(subject),
      anchor: `fs.${scenario.anchor}Sync 4 KiB, same file`,
      anchorValue: median(anchorSamples),
      higherIsBetter: true,
    });
    nsPerOp[name] = 1e9 / median(subject);
  }
  set.close();
}
reportBench('@blk/fmap', rows);

// fs2's Go numbers: its own `go test -bench` on the same machine kind, once (not re-measured here;
// the README's Limits section quotes them).
const GO_NS: Record<string, [number, number]> = {
  'allocate, growth path': [8400, 15800],
  'allocate + free pair, steady state': [225, 741],
  'allocateBlocks(4)': [97000, 237000],
  'do(1 block), one-byte read': [9.1, 9.8],
  'setControlDataNoSync(64 B)': [12.7, 13.1],
};
console.log('\nagainst fs2 (Go, go test -bench measured once, not re-measured; ratios > 1 mean we are faster)');
for (const [name, ns] of Object.entries(nsPerOp)) {
  const key = name.replace(/^\[\w+\] /, '');
  const go = GO_NS[key];
  if (!go) continue;
  const verdict = ns <= go[0] ? 'beats the Go range' : ns <= go[1] ? 'inside the Go range' : 'slower than the Go range';
  console.log(
    `${name.padEnd(48)} ${ns.toFixed(0).padStart(8)} ns   Go ${go[0]}–${go[1]} ns   ×${(go[0] / ns).toFixed(2)} of best, ×${(go[1] / ns).toFixed(2)} of worst   ${verdict}`,
  );
}
console.log(`\nmachine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}, ${ROUNDS} interleaved rounds, medians`);
console.log(`(checksum ${sink & 1})`);
temp.remove();
