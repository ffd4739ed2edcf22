// The servers the benchmark compares, each its own process on a Unix socket: ours (`blk serve` from
// the workspace's built @blk/cli, as users run it; bench/serve.mjs over dist/ when the CLI is not
// built), nbdkit (memory or file plugin) and qemu-nbd (a raw image; for "ram", one in tmpfs).
import { startProcess, waitFor } from '@blk/test-kit';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { formatUri } from '../dist/index.js';

export interface Peers {
  readonly nbdkit: string;
  readonly qemuNbd: string;
}

export interface RunningServer {
  readonly label: string;
  readonly uri: string;
  /** CPU seconds (user + system) the server has used so far, its worker processes included. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/** Linux's USER_HZ, the unit of /proc/PID/stat's times. */
const TICKS_PER_SECOND = 100;

/** CPU ticks of `pid` and, recursively, of the processes it started that are still running. */
function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const own = Number(fields[11]) + Number(fields[12]);
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return own + (children === '' ? 0 : children.split(/\s+/).reduce((sum, child) => sum + cpuTicks(Number(child)), 0));
  } catch {
    return 0; // gone meanwhile
  }
}

export type Backing =
  { readonly kind: 'ram'; readonly bytes: number; readonly tmpfsImage: string } | { readonly kind: 'file'; readonly image: string };

/** `blk` of this workspace, built (the benchmark does not depend on @blk/cli: it depends on us). */
const BLK = join(import.meta.dirname, '..', '..', 'cli', 'dist', 'bin.js');

async function started(
  label: string,
  program: string,
  args: readonly string[],
  socket: string,
  ready: (output: string) => boolean = () => true,
): Promise<RunningServer> {
  // A socket left by an earlier server of the same name would look like this one listening.
  rmSync(socket, { force: true });
  const child = startProcess(program, args);
  try {
    await waitFor(() => (existsSync(socket) && ready(child.output())) || child.child.exitCode !== null, `${label} to listen`, 30_000);
    if (child.child.exitCode !== null) throw new Error(`${label} did not start: ${child.output()}`);
  } catch (e) {
    await child.stop();
    throw e;
  }
  const pid = child.child.pid!;
  return { label, uri: formatUri({ path: socket }), cpuSeconds: () => cpuTicks(pid) / TICKS_PER_SECOND, stop: () => child.stop() };
}

/** Our server over a ramdisk or a file: `blk serve ram:SIZE|file:IMAGE` (its defaults), else serve.mjs. */
export function startOurs(dir: string, backing: Backing): Promise<RunningServer> {
  const socket = join(dir, `ours-${backing.kind}.sock`);
  if (existsSync(BLK)) {
    const spec = backing.kind === 'ram' ? `ram:${backing.bytes}` : `file:${backing.image}`;
    return started(`blk serve ${backing.kind}:`, process.execPath, [BLK, 'serve', spec, '--socket', socket], socket, (output) =>
      output.includes('Press Ctrl-C to stop.'),
    );
  }
  const what = backing.kind === 'ram' ? ['ram', String(backing.bytes)] : ['file', backing.image];
  return started(
    `NbdServer (${backing.kind})`,
    process.execPath,
    [join(import.meta.dirname, 'serve.mjs'), socket, ...what],
    socket,
    (output) => output.includes('listening'),
  );
}

/** `nbdkit memory SIZE` (its default sparse allocator) or `nbdkit file IMAGE`. */
export function startNbdkit(dir: string, peers: Peers, backing: Backing): Promise<RunningServer> {
  const socket = join(dir, `nbdkit-${backing.kind}.sock`);
  const plugin = backing.kind === 'ram' ? ['memory', String(backing.bytes)] : ['file', backing.image];
  return started(`nbdkit ${backing.kind === 'ram' ? 'memory' : 'file'}`, peers.nbdkit, ['-f', '-U', socket, ...plugin], socket);
}

/** qemu-nbd as the issue measured it: persistent, shared, writeback cache, thread-pool aio. */
export function startQemuNbd(dir: string, peers: Peers, backing: Backing): Promise<RunningServer> {
  const socket = join(dir, `qemu-${backing.kind}.sock`);
  const image = backing.kind === 'ram' ? backing.tmpfsImage : backing.image;
  return started(
    `qemu-nbd (${backing.kind === 'ram' ? 'tmpfs file' : 'file'})`,
    peers.qemuNbd,
    ['-f', 'raw', '-t', '-e', '8', '--cache=writeback', '--aio=threads', '-k', socket, image],
    socket,
  );
}
