export { describeWithPeers, findPeer } from './peers.js';
export { describeWhen, itWhen, peersRequired, type Missing } from './requirements.js';
export { makeTempDir } from './temp-dir.js';
export { startNginx, type Nginx, type NginxOptions } from './nginx.js';
export { rejection } from './rejection.js';
export { run, runOk, startProcess, waitFor, type RunOptions, type RunResult } from './processes.js';
export { interleave, median, percentile, rate, ratioOf, reportBench, type BenchRow } from './bench.js';
export {
  STANDARD_WORKLOADS,
  benchWorkloads,
  deviceTarget,
  memcpyTarget,
  prefill,
  runWorkload,
  type Workload,
  type WorkloadAnchor,
  type WorkloadTarget,
} from './block-workloads.js';
export { randomAccessMemoryTarget } from './random-access-memory-target.js';
export {
  answerRequests,
  measureAttack,
  reportSoak,
  SoakChild,
  startServerProbe,
  throughput,
  type AttackRounds,
  type ProbeReading,
  type SoakRow,
} from './soak.js';
