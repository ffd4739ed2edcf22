import type { TestProject } from 'vitest/node';
import { makeTempDir } from '@blk/test-kit';
import { clusterMissing, startCluster, type CephCluster } from './helpers/ceph-cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The test cluster's ceph.conf, or '' when there is none. */
    cephConf: string;
    /** Why there is no cluster ('' when there is one). */
    cephMissing: string;
    cephDir: string;
  }
}

/** One Ceph cluster for the whole test run, stopped by pid at the end. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let cluster: CephCluster | undefined;
  const dir = makeTempDir('blk-ceph-');
  let missing = clusterMissing() ?? '';
  if (!missing) {
    try {
      cluster = await startCluster(dir.path);
    } catch (error) {
      missing = `the test Ceph cluster did not start: ${(error as Error).message.split('\n')[0] ?? ''}`;
    }
  }
  project.provide('cephConf', cluster?.conf ?? '');
  project.provide('cephMissing', missing);
  project.provide('cephDir', dir.path);
  return async () => {
    await cluster?.stop();
    dir.remove();
  };
}
