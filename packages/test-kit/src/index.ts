export { describeWithPeers, findPeer, peersRequired } from './peers.js';
export { makeTempDir } from './temp-dir.js';
export { run, runOk, startProcess, waitFor, type RunOptions, type RunResult } from './processes.js';
export { interleave, median, percentile, rate, ratioOf, reportBench, type BenchRow } from './bench.js';
