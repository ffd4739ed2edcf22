import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { findPeer } from '@blk/test-kit';

/**
 * A throwaway Ceph cluster for tests and benches: one monitor and one memstore OSD (data in RAM),
 * no manager, authentication off, everything (config, data, logs, pid files, sockets) in one
 * directory, the monitor on two free loopback ports. Starts in about 2 s; installs nothing.
 */
export interface CephCluster {
  readonly dir: string;
  /** The ceph.conf clients pass to librbd (`conf`), `rbd -c` and fio's rbd engine. */
  readonly conf: string;
  /** The pool made for tests, initialised for RBD. */
  readonly pool: string;
  /** Stops the daemons (the OSD first, then the monitor) by pid. Idempotent. */
  stop(): Promise<void>;
}

/** The programs a cluster needs, and the Debian packages that ship them. */
export const CEPH_PROGRAMS: Readonly<Record<string, string>> = {
  'ceph-mon': 'ceph-mon',
  'ceph-osd': 'ceph-osd',
  monmaptool: 'ceph-base',
  ceph: 'ceph-common',
  rbd: 'ceph-common',
};

export const CEPH_DEBIAN_PACKAGES = ['ceph-mon', 'ceph-osd', 'ceph-common', 'librbd-dev'] as const;

/** Why a cluster cannot be started here, or undefined. */
export function clusterMissing(): string | undefined {
  const missing = Object.keys(CEPH_PROGRAMS).filter((program) => !findPeer(program));
  if (missing.length === 0) return undefined;
  return `needs ${missing.join(', ')} (apt-get install ${CEPH_DEBIAN_PACKAGES.join(' ')})`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** Runs a Ceph tool, bounded in time; rejects with its output unless it exits 0. */
async function tool(program: string, args: readonly string[], timeoutMs = 30_000): Promise<string> {
  const path = findPeer(program) ?? program;
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${program} ${args.join(' ')} exited ${code ?? signal}: ${err.trim() || out.trim()}`));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` holds, at most `timeoutMs`. */
async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await tick(50);
  }
  throw new Error(`ceph test cluster: timed out after ${timeoutMs} ms waiting for ${what}`);
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** SIGTERM, wait for the exit (SIGKILL after `graceMs`). */
async function terminate(pid: number | undefined, graceMs: number): Promise<void> {
  if (pid === undefined || !alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await tick(25);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  while (alive(pid)) await tick(25);
}

function config(dir: string, fsid: string, v2: number, v1: number): string {
  return `[global]
fsid = ${fsid}
run dir = ${dir}/run
pid file = ${dir}/$name.pid
admin socket = ${dir}/$name.asok
log file = ${dir}/$name.log
mon data = ${dir}/mon.$id
osd data = ${dir}/osd.$id
mon host = [v2:127.0.0.1:${v2},v1:127.0.0.1:${v1}]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
keyring = /dev/null
osd objectstore = memstore
memstore page set = true
memstore device bytes = 2147483648
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon allow pool delete = true
osd crush chooseleaf type = 0
osd pool default pg autoscale mode = off
mon warn on pool no redundancy = false
paxos propose interval = 0.1
osd mon report interval = 1
mon osd down out interval = 0
mon data avail warn = 1
mon data avail crit = 0
osd max object name len = 256
osd max object namespace len = 64
`;
}

async function launchOsd(conf: string, dir: string, osdId: string): Promise<void> {
  const c = ['-c', conf];
  await tool('ceph-osd', [...c, '-i', osdId]);
  await until(() => existsSync(join(dir, `osd.${osdId}.pid`)), 'the OSD pid file', 10_000);
  await until(
    async () => {
      const dump = JSON.parse(await tool('ceph', [...c, 'osd', 'dump', '--format=json'])) as { osds?: { osd: number; up: number }[] };
      return dump.osds?.some((osd) => String(osd.osd) === osdId && osd.up === 1) ?? false;
    },
    'the OSD to be up',
    30_000,
  );
}

/** Stops the cluster started in `dir` (from another process), OSD first, then the monitor. */
export async function stopClusterIn(dir: string): Promise<void> {
  const osdId = readFileSync(join(dir, 'osd-id'), 'utf8').trim();
  const osd = readPid(join(dir, `osd.${osdId}.pid`));
  if (osd !== undefined && alive(osd)) process.kill(osd, 'SIGCONT');
  await terminate(osd, 10_000);
  await terminate(readPid(join(dir, 'mon.a.pid')), 10_000);
}

/**
 * Freezes and thaws the OSD of the cluster started in `dir` (from another process than the one
 * that started it) with SIGSTOP/SIGCONT: a hung OSD, the fault a client sees as "the cluster stops
 * answering". (A memstore OSD cannot be restarted instead: it comes back without its PGs.)
 */
export function osdOf(dir: string): { freeze(): Promise<void>; thaw(): void } {
  const osdId = readFileSync(join(dir, 'osd-id'), 'utf8').trim();
  const pid = () => {
    const found = readPid(join(dir, `osd.${osdId}.pid`));
    if (found === undefined) throw new Error('ceph test cluster: no OSD pid');
    return found;
  };
  // the state letter in /proc/PID/stat, after the parenthesised command name
  const state = (p: number) => /\) (\S)/.exec(readFileSync(`/proc/${p}/stat`, 'utf8'))?.[1];
  return {
    // SIGSTOP is delivered asynchronously: wait until the process is really stopped
    freeze: async () => {
      const p = pid();
      process.kill(p, 'SIGSTOP');
      await until(() => state(p) === 'T', 'the OSD to stop', 5_000);
    },
    thaw: () => process.kill(pid(), 'SIGCONT'),
  };
}

/**
 * Starts a cluster in `dir` (created if missing; it must not hold one already) and makes pool
 * `rbd`. On failure everything started is stopped again and the error says which step failed.
 */
export async function startCluster(dir: string): Promise<CephCluster> {
  mkdirSync(join(dir, 'run'), { recursive: true });
  const conf = join(dir, 'ceph.conf');
  const fsid = randomUUID();
  const v2 = await freePort();
  let v1 = await freePort();
  while (v1 === v2) v1 = await freePort();
  writeFileSync(conf, config(dir, fsid, v2, v1));
  const c = ['-c', conf];
  const monPid = join(dir, 'mon.a.pid');
  let osdId = '0';
  const osdPid = () => join(dir, `osd.${osdId}.pid`);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    const osd = readPid(osdPid());
    if (osd !== undefined && alive(osd)) process.kill(osd, 'SIGCONT'); // in case a test left it frozen
    await terminate(readPid(osdPid()), 10_000);
    await terminate(readPid(monPid), 10_000);
  };
  const startOsd = () => launchOsd(conf, dir, osdId);
  try {
    const monmap = join(dir, 'monmap');
    await tool('monmaptool', ['--create', '--fsid', fsid, '--addv', 'a', `[v2:127.0.0.1:${v2},v1:127.0.0.1:${v1}]`, monmap]);
    await tool('ceph-mon', [...c, '--mkfs', '-i', 'a', '--monmap', monmap, '--keyring', '/dev/null']);
    await tool('ceph-mon', [...c, '-i', 'a']);
    const uuid = randomUUID();
    osdId = (await tool('ceph', [...c, 'osd', 'new', uuid])).trim();
    writeFileSync(join(dir, 'osd-id'), osdId);
    mkdirSync(join(dir, `osd.${osdId}`), { recursive: true });
    await tool('ceph-osd', [...c, '-i', osdId, '--mkfs', '--osd-uuid', uuid]);
    await startOsd();
    await tool('ceph', [...c, 'osd', 'pool', 'create', 'rbd', '8', '8']);
    await tool('rbd', [...c, 'pool', 'init', 'rbd']);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    dir,
    conf,
    pool: 'rbd',
    stop,
  };
}
