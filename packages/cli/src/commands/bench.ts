import { UsageError } from '../cli-error.js';
import type { Command } from '../command.js';
import { expectPositionals, parseCommandLine, sizeArgument, specArgument } from '../command-line.js';
import { formatDeviceSpec } from '../device-spec.js';
import { openDevice } from '../open-device.js';
import { formatBytes } from '../size.js';
import { catchStopSignals, exitCodeFor } from '../stop-signals.js';
import { renderBenchRow, renderBenchHeader, benchJson } from '../bench/bench-report.js';
import { runWorkload } from '../bench/run-workload.js';
import { STANDARD_WORKLOADS, type BenchResult, type BenchWorkload } from '../bench/workloads.js';

const NAMES = STANDARD_WORKLOADS.map((w) => w.name);
const MAX_DEPTH = 1024;
const MAX_SECONDS = 3600;

export const benchCommand: Command = {
  name: 'bench',
  summary: 'measure a device: IOPS, bandwidth and latency percentiles of standard workloads',
  usage: `Usage: blk bench SPEC [--workload NAME]… [--write] [--time SECONDS] [--requests N]
                 [--block-size SIZE] [--depth N] [--span SIZE] [--json]

Measures the device SPEC names (ram:, mem:, file:, fmap:, nbd://…) as 'qemu-img bench' or fio
would: each workload keeps DEPTH requests in flight for SECONDS (or N requests), then prints
IOPS, bandwidth and request latency (p50, p90, p99, p99.9, max).

Workloads (all of them by default; the write ones only with --write, or on ram:/mem:):
  seq-write       1 MiB sequential writes, depth 4
  seq-read        1 MiB sequential reads, depth 4
  rand-write      4 KiB random writes, depth 32
  rand-read       4 KiB random reads, depth 32
  rand-write-qd1  4 KiB random writes, depth 1
  rand-read-qd1   4 KiB random reads, depth 1

Write workloads OVERWRITE the device's data in the span; that is why they need --write on a
file:, fmap: or nbd: device. Random offsets come from a fixed seed, so runs are comparable.

Options:
  --workload NAME    only this workload; repeatable
  --write            run the write workloads (destroys data in the span)
  --time SECONDS     per workload (default 2, at most ${MAX_SECONDS})
  --requests N       per workload, at most N requests (default: no limit)
  --block-size SIZE  request size for every workload (a whole number of sectors)
  --depth N          requests in flight for every workload (1–${MAX_DEPTH})
  --span SIZE        bytes of the device used, from offset 0 (default: all of it)
  --json             one JSON object with every figure instead of the table
  -h, --help         this text

Exit status: 0 when every workload ran, 1 when the device failed a request, 2 on a bad command
line, 130/143 when stopped by SIGINT/SIGTERM (after printing what was measured).

Examples:
  blk bench ram:1GiB
  blk bench file:disk.img --write --time 5
  blk bench nbd://127.0.0.1:10809/ --workload rand-read --depth 64 --json
`,
  async run(args, io) {
    const { values, positionals } = parseCommandLine('bench', {
      args: [...args],
      options: {
        workload: { type: 'string', multiple: true },
        write: { type: 'boolean' },
        time: { type: 'string' },
        requests: { type: 'string' },
        'block-size': { type: 'string' },
        depth: { type: 'string' },
        span: { type: 'string' },
        json: { type: 'boolean' },
      },
      allowPositionals: true,
    });
    const [specText] = expectPositionals('bench', positionals, ['SPEC']) as [string];
    const spec = specArgument('bench', specText);
    const seconds = values.time === undefined ? 2 : numberArgument('time', values.time, 0, MAX_SECONDS, false);
    const requests =
      values.requests === undefined
        ? Number.MAX_SAFE_INTEGER
        : numberArgument('requests', values.requests, 1, Number.MAX_SAFE_INTEGER, true);
    const depth = values.depth === undefined ? undefined : numberArgument('depth', values.depth, 1, MAX_DEPTH, true);
    const blockBytes = values['block-size'] === undefined ? undefined : sizeArgument('bench', 'block-size', values['block-size']);
    const spanOption = values.span === undefined ? undefined : sizeArgument('bench', 'span', values.span);
    for (const name of values.workload ?? []) {
      if (!NAMES.includes(name)) throw new UsageError(`bench: --workload ${name}: unknown (workloads: ${NAMES.join(', ')})`);
    }
    const throwaway = spec.kind === 'ram' || spec.kind === 'mem';
    const mayWrite = values.write === true || throwaway;
    const chosen = STANDARD_WORKLOADS.filter((w) =>
      values.workload === undefined ? mayWrite || !w.write : values.workload.includes(w.name),
    );
    const refused = chosen.filter((w) => w.write && !mayWrite);
    if (refused.length > 0) {
      throw new UsageError(
        `bench: ${refused.map((w) => w.name).join(', ')} would overwrite data on ${formatDeviceSpec(spec)}; add --write if that is fine`,
      );
    }
    const workloads: BenchWorkload[] = chosen.map((w) => ({
      ...w,
      blockBytes: blockBytes ?? w.blockBytes,
      depth: depth ?? w.depth,
    }));

    const { device, close } = await openDevice(spec, { readOnly: !workloads.some((w) => w.write) });
    const stop = catchStopSignals();
    try {
      const info = await device.getInfo();
      const deviceBytes = info.sizeSectors * info.sectorSize;
      const spanBytes = Math.min(deviceBytes, spanOption ?? deviceBytes);
      for (const w of workloads) {
        if (w.blockBytes <= 0 || w.blockBytes % info.sectorSize !== 0) {
          throw new UsageError(
            `bench: ${w.name}: a block of ${w.blockBytes} bytes is not a whole number of ${info.sectorSize}-byte sectors`,
          );
        }
        if (w.blockBytes > spanBytes) {
          throw new UsageError(
            `bench: ${w.name}: a block of ${formatBytes(w.blockBytes)} does not fit in the ${formatBytes(spanBytes)} benchmarked`,
          );
        }
      }
      const header = {
        spec: formatDeviceSpec(spec),
        sizeBytes: deviceBytes,
        sectorSize: info.sectorSize,
        spanBytes,
        seconds,
        requests: values.requests === undefined ? undefined : requests,
      };
      if (values.json !== true) io.stdout.write(renderBenchHeader(header));
      const results: BenchResult[] = [];
      for (const workload of workloads) {
        if (stop.received() !== undefined) break;
        const result = await runWorkload(device, workload, {
          ms: seconds * 1000,
          requests,
          spanBytes,
          sectorSize: info.sectorSize,
          signal: stop.signal,
        });
        results.push(result);
        if (values.json !== true) io.stdout.write(renderBenchRow(result));
      }
      if (values.json === true) io.stdout.write(`${JSON.stringify(benchJson(header, results))}\n`);
      const signalName = stop.received();
      if (signalName !== undefined) {
        io.stderr.write(`blk bench: stopped by ${signalName}; ${results.length} of ${workloads.length} workload(s) measured\n`);
        return exitCodeFor(signalName);
      }
      return 0;
    } finally {
      stop.dispose();
      await close();
    }
  },
};

function numberArgument(option: string, text: string, min: number, max: number, integer: boolean): number {
  const value = Number(text);
  const ok =
    text.trim() !== '' &&
    Number.isFinite(value) &&
    (!integer || Number.isInteger(value)) &&
    value >= min &&
    value <= max &&
    (integer || value > 0);
  if (!ok)
    throw new UsageError(
      `bench: --${option} ${text}: expected ${integer ? 'a whole number' : 'a number'} ${integer ? `from ${min}` : 'above 0'} to ${max}`,
    );
  return value;
}
