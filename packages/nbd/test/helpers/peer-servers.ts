import { startProcess, waitFor } from '@blk/test-kit';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as net from 'node:net';
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
 * Starts `qemu-nbd --socket SOCK …args` and waits until it listens (it writes the pid file after
 * binding). Without `--persistent` in `args` it serves one client and exits.
 */
export async function startQemuNbd(qemuNbd: string, dir: string, args: readonly string[]): Promise<PeerServer> {
  const id = ++counter;
  const path = join(dir, `qemu-nbd-${id}.sock`);
  const pidFile = join(dir, `qemu-nbd-${id}.pid`);
  const proc = startProcess(qemuNbd, ['--socket', path, `--pid-file=${pidFile}`, ...args]);
  try {
    await waitFor(() => existsSync(pidFile) || proc.child.exitCode !== null, 'qemu-nbd to start');
    if (proc.child.exitCode !== null) throw new Error(`qemu-nbd exited: ${proc.output()}`);
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return { path, uri: `nbd+unix:///?socket=${path}`, output: () => proc.output(), stop: () => proc.stop() };
}

/**
 * An inetd-style listener: every connection to `path` is handed, as stdin and stdout, to a fresh
 * `program` started with `argsFor(n)` (n counts connections from 1) — how libnbd's tests run
 * `nbd-server … 0 FILE`. `stop()` closes the listener and kills the programs still running.
 */
export async function startInetd(dir: string, program: string, argsFor: (n: number) => readonly string[]): Promise<PeerServer> {
  const path = join(dir, `inetd-${++counter}.sock`);
  const children = new Set<ChildProcess>();
  let output = '';
  let n = 0;
  const listener = net.createServer({ pauseOnConnect: true }, (socket) => {
    const child = spawn(program, argsFor(++n), { stdio: [socket, socket, 'pipe'] });
    children.add(child);
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.once('exit', () => children.delete(child));
    child.once('error', (e) => (output += String(e)));
    // The child holds the connection now.
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(path, resolve);
  });
  return {
    path,
    uri: `nbd+unix:///?socket=${path}`,
    output: () => output,
    async stop() {
      await new Promise<void>((resolve) => listener.close(() => resolve()));
      await Promise.all(
        [...children].map(
          (child) =>
            new Promise<void>((resolve) => {
              child.once('exit', () => resolve());
              child.kill('SIGKILL');
            }),
        ),
      );
    },
  };
}
