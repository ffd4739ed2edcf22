import { fork, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { NbdServer } from '@blk/nbd';
import { fileURLToPath } from 'node:url';
import { isWorkerReport, type WorkerConnection, type WorkerInit } from './serve-worker-protocol.js';

const WORKER = fileURLToPath(new URL('./serve-worker.js', import.meta.url));
/** A worker that has not opened its files and started serving within this long is a failure. */
const START_TIMEOUT_MS = 20_000;
/** A worker still busy this long after being told to stop is killed. */
const STOP_TIMEOUT_MS = 10_000;

export interface ServeWorkers {
  /** Tells every worker to stop and waits for them; resolves false if one failed or had to be killed. */
  stop(): Promise<boolean>;
}

interface Worker {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
}

/**
 * Starts `count` worker processes that serve the same files, and makes `server` hand them its
 * connections in turn (round-robin over itself and the workers: a shared accept would let one busy
 * process take them all). Resolves once all are serving; rejects, stopping the ones that started,
 * when one cannot.
 */
export async function startServeWorkers(
  count: number,
  init: Omit<WorkerInit, 'type'>,
  server: NbdServer,
  log: (message: string) => void,
): Promise<ServeWorkers> {
  const workers: Worker[] = [];
  const started: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const child = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.on('error', () => resolve(null));
    });
    workers.push({ child, exited });
    started.push(
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`serve worker ${i + 1} did not start within ${START_TIMEOUT_MS} ms`)),
          START_TIMEOUT_MS,
        );
        timer.unref();
        child.on('message', (message: unknown) => {
          if (!isWorkerReport(message)) return;
          if (message.type === 'ready') {
            clearTimeout(timer);
            resolve();
          } else if (message.type === 'failed') {
            clearTimeout(timer);
            reject(new Error(`serve worker ${i + 1}: ${message.message}`));
          } else log(`worker ${i + 1}: ${message.message}`);
        });
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`serve worker ${i + 1} exited (${code}) before it started serving`));
        });
      }),
    );
    child.send({ type: 'init', ...init } satisfies WorkerInit);
  }
  const stop = async (): Promise<boolean> => {
    server.setConnectionHandOff(undefined);
    const results = await Promise.all(
      workers.map(async ({ child, exited }) => {
        if (child.exitCode !== null || child.signalCode !== null) return false;
        if (child.connected) child.send({ type: 'stop' });
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        const code = await exited;
        clearTimeout(timer);
        return code === 0;
      }),
    );
    return results.every(Boolean);
  };
  try {
    await Promise.all(started);
  } catch (error) {
    await stop();
    throw error;
  }
  let turn = 0;
  server.setConnectionHandOff((socket: Socket) => {
    turn = (turn + 1) % (workers.length + 1);
    const worker = workers[turn - 1];
    // Turn 0, or a worker that has gone: served here.
    if (!worker?.child.connected) return false;
    worker.child.send({ type: 'connection' } satisfies WorkerConnection, socket);
    return true;
  });
  for (const [i, { exited }] of workers.entries()) {
    void exited.then((code) => {
      if (code !== 0) log(`worker ${i + 1} exited (${code}); its connections were dropped`);
    });
  }
  return { stop };
}
