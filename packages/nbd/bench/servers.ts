// The servers the benchmark compares, each its own process on a Unix socket: ours (bench/serve.mjs
// over dist/), nbdkit (memory or file plugin) and qemu-nbd (a raw image; for "ram", one in tmpfs).
import { startProcess, waitFor } from '@blk/test-kit';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { formatUri } from '../dist/index.js';

export interface Peers {
  readonly nbdkit: string;
  readonly qemuNbd: string;
}

export interface RunningServer {
  readonly label: string;
  readonly uri: string;
  stop(): Promise<void>;
}

export type Backing = { readonly kind: 'ram'; readonly bytes: number; readonly tmpfsImage: string } | { readonly kind: 'file'; readonly image: string };

async function started(label: string, program: string, args: readonly string[], socket: string): Promise<RunningServer> {
  // A socket left by an earlier server of the same name would look like this one listening.
  rmSync(socket, { force: true });
  const child = startProcess(program, args);
  try {
    await waitFor(() => existsSync(socket) || child.child.exitCode !== null, `${label} to listen`, 30_000);
    if (child.child.exitCode !== null) throw new Error(`${label} did not start: ${child.output()}`);
  } catch (e) {
    await child.stop();
    throw e;
  }
  return { label, uri: formatUri({ path: socket }), stop: () => child.stop() };
}

/** Our server over a Ramdisk or openFileDevice. */
export function startOurs(dir: string, backing: Backing): Promise<RunningServer> {
  const socket = join(dir, `ours-${backing.kind}.sock`);
  const what = backing.kind === 'ram' ? ['ram', String(backing.bytes)] : ['file', backing.image];
  return started(`blk (${backing.kind})`, process.execPath, [join(import.meta.dirname, 'serve.mjs'), socket, ...what], socket);
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
