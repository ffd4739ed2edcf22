// The fio jobs of the server benchmark and how one is run: fio's nbd engine (libnbd, one
// connection per fio job) against a URI, JSON output reduced to the figure the job is about.
import { runOk } from '@blk/test-kit';

const MiB = 1 << 20;

export interface FioJob {
  readonly name: string;
  readonly rw: 'read' | 'write' | 'randread' | 'randwrite';
  readonly bs: string;
  readonly iodepth: number;
  /** fio jobs at once, each its own NBD connection (group-reported as one figure). */
  readonly numjobs: number;
  readonly measure: 'MiB/s' | 'IOPS' | 'µs';
}

/** The five jobs of issue 11, then the two-connection row. */
export const FIO_JOBS: readonly FioJob[] = [
  { name: '1 MiB sequential write QD16', rw: 'write', bs: '1M', iodepth: 16, numjobs: 1, measure: 'MiB/s' },
  { name: '1 MiB sequential read QD16', rw: 'read', bs: '1M', iodepth: 16, numjobs: 1, measure: 'MiB/s' },
  { name: '4 KiB random read QD32', rw: 'randread', bs: '4k', iodepth: 32, numjobs: 1, measure: 'IOPS' },
  { name: '4 KiB random write QD32', rw: 'randwrite', bs: '4k', iodepth: 32, numjobs: 1, measure: 'IOPS' },
  { name: '4 KiB random read QD1 (mean latency)', rw: 'randread', bs: '4k', iodepth: 1, numjobs: 1, measure: 'µs' },
  { name: '4 KiB random read QD32, 2 connections', rw: 'randread', bs: '4k', iodepth: 32, numjobs: 2, measure: 'IOPS' },
];

interface FioSide {
  readonly total_ios: number;
  readonly bw_bytes: number;
  readonly iops: number;
  readonly lat_ns: { readonly mean: number };
}

export interface FioSettings {
  readonly fio: string;
  /** Bytes of the export fio works over. */
  readonly sizeBytes: number;
  readonly runtimeS: number;
  readonly rampS: number;
}

export interface FioResult {
  /** The job's figure: MiB/s, IOPS, or mean latency in µs. */
  readonly figure: number;
  /** I/Os done in the timed part, scaled up to cover the ramp too (for a per-I/O cost over the whole run). */
  readonly ios: number;
}

/** Runs `job` against `uri`. */
export async function runFio(settings: FioSettings, job: FioJob, uri: string): Promise<FioResult> {
  const { stdout } = await runOk(
    settings.fio,
    [
      `--name=${job.rw}`,
      '--ioengine=nbd',
      `--uri=${uri}`,
      `--rw=${job.rw}`,
      `--bs=${job.bs}`,
      `--iodepth=${job.iodepth}`,
      `--numjobs=${job.numjobs}`,
      '--group_reporting',
      `--size=${settings.sizeBytes}`,
      `--runtime=${settings.runtimeS}`,
      '--time_based',
      `--ramp_time=${settings.rampS}`,
      '--output-format=json',
    ],
    { timeoutMs: (settings.runtimeS + settings.rampS + 30) * 1000 },
  );
  // fio prints "fio: connected to NBD server" ahead of the JSON.
  const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as { jobs: { read: FioSide; write: FioSide }[] };
  const side = job.rw.includes('write') ? report.jobs[0]!.write : report.jobs[0]!.read;
  const ios = (side.total_ios * (settings.runtimeS + settings.rampS)) / settings.runtimeS;
  if (job.measure === 'MiB/s') return { figure: side.bw_bytes / MiB, ios };
  if (job.measure === 'IOPS') return { figure: side.iops, ios };
  return { figure: side.lat_ns.mean / 1000, ios };
}
