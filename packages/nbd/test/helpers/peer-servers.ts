import { startProcess, waitFor } from '@blk/test-kit';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface PeerServer {
  /** Unix socket the server listens on. */
  readonly path: string;
  readonly uri: string;
  output(): string;
  stop(): Promise<void>;
}

let counter = 0;

/**
 * Starts `nbdkit -f -U SOCK -P PIDFILE …args` in `dir` and waits until it is ready (nbdkit writes
 * the pid file once it accepts connections).
 */
export async function startNbdkit(nbdkit: string, dir: string, args: readonly string[]): Promise<PeerServer> {
  const id = ++counter;
  const path = join(dir, `nbdkit-${id}.sock`);
  const pidFile = join(dir, `nbdkit-${id}.pid`);
  const proc = startProcess(nbdkit, ['-f', '-U', path, '-P', pidFile, ...args]);
  try {
    await waitFor(() => existsSync(pidFile) || proc.child.exitCode !== null, 'nbdkit to start');
    if (proc.child.exitCode !== null) throw new Error(`nbdkit exited: ${proc.output()}`);
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return { path, uri: `nbd+unix:///?socket=${path}`, output: () => proc.output(), stop: () => proc.stop() };
}

/**
 * Starts `qemu-nbd --socket SOCK …args` (persistent, so several clients may come and go) and
 * waits for the socket.
 */
export async function startQemuNbd(qemuNbd: string, dir: string, args: readonly string[]): Promise<PeerServer> {
  const path = join(dir, `qemu-nbd-${++counter}.sock`);
  const proc = startProcess(qemuNbd, ['--socket', path, '--persistent', ...args]);
  try {
    await waitFor(() => existsSync(path) || proc.child.exitCode !== null, 'qemu-nbd to start');
    if (proc.child.exitCode !== null) throw new Error(`qemu-nbd exited: ${proc.output()}`);
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return { path, uri: `nbd+unix:///?socket=${path}`, output: () => proc.output(), stop: () => proc.stop() };
}
