// `pnpm ceph-cluster start DIR` starts the test cluster in DIR (created if missing) and prints its
// ceph.conf; `pnpm ceph-cluster stop DIR` stops it by pid; `pnpm ceph-cluster check` says what
// is missing to run one. For contributors and CI scripts; the tests start their own.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { clusterMissing, startCluster, stopClusterIn } from '../test/helpers/ceph-cluster.js';

const [command, dirArgument] = process.argv.slice(2);
const missing = clusterMissing();
if (command === 'check') {
  console.log(missing ?? 'ok: ceph-mon, ceph-osd, ceph and rbd are installed');
  process.exit(missing ? 1 : 0);
}
if ((command !== 'start' && command !== 'stop') || !dirArgument) {
  console.error('usage: ceph-cluster check | start DIR | stop DIR');
  process.exit(2);
}
const dir = resolve(dirArgument);
if (command === 'start') {
  if (missing) {
    console.error(missing);
    process.exit(1);
  }
  if (existsSync(join(dir, 'ceph.conf'))) {
    console.error(`${dir} already holds a cluster (${readFileSync(join(dir, 'ceph.conf'), 'utf8').split('\n')[1] ?? ''})`);
    process.exit(1);
  }
  const cluster = await startCluster(dir);
  console.log(cluster.conf);
} else {
  await stopClusterIn(dir);
}
