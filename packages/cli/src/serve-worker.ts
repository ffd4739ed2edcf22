// A `blk serve` worker process: started by the parent `blk serve` (serve-workers.ts), it opens the
// same files itself and serves the connections the parent hands it, so that connections are
// spread over processes (and cores). It stops, finishing requests in flight and flushing, when
// the parent says so, on SIGINT/SIGTERM, or when the parent goes away.
import { createServer } from '@blk/nbd';
import { Socket } from 'node:net';
import { describeError } from './describe-error.js';
import { formatDeviceSpec } from './device-spec.js';
import { openDevice, type OpenedDevice } from './open-device.js';
import type { WorkerInit, WorkerReport } from './serve-worker-protocol.js';

function report(message: WorkerReport): void {
  process.send?.(message);
}

async function run(init: WorkerInit): Promise<number> {
  const opened: OpenedDevice[] = [];
  let stopRequested!: () => void;
  const stopped = new Promise<void>((resolve) => (stopRequested = resolve));
  process.on('SIGINT', stopRequested);
  process.on('SIGTERM', stopRequested);
  process.on('disconnect', stopRequested);
  let serve: ((socket: Socket) => void) | undefined;
  process.on('message', (message: { type?: unknown }, handle: unknown) => {
    if (message.type === 'stop') stopRequested();
    else if (message.type === 'connection' && handle instanceof Socket) {
      if (serve) serve(handle);
      else handle.destroy();
    }
  });
  let failed = false;
  try {
    // The parent holds each file's lock for the whole group.
    for (const { spec } of init.exports) opened.push(await openDevice(spec, { readOnly: init.readOnly, lock: false }));
    const server = createServer({
      exports: new Map(init.exports.map((e, i) => [e.name, { device: opened[i]!.device, description: formatDeviceSpec(e.spec) }])),
      tls: init.tls,
      ...(init.verbose ? { onError: (error: Error) => report({ type: 'log', message: error.message }) } : {}),
    });
    serve = (socket) => {
      // As the parent's listener makes them: replies may follow the client's FIN; no Nagle delay.
      socket.allowHalfOpen = true;
      socket.setNoDelay(true);
      void server.serveAccepted(socket);
    };
    report({ type: 'ready' });
    await stopped;
    serve = undefined;
    await server.close();
    for (const o of opened) {
      try {
        await o.device.flush?.();
      } catch (error) {
        failed = true;
        report({ type: 'log', message: `flushing ${formatDeviceSpec(o.spec)} failed: ${describeError(error)}` });
      }
    }
  } catch (error) {
    report({ type: 'failed', message: describeError(error) });
    return 1;
  } finally {
    await Promise.all(opened.map((o) => o.close()));
  }
  return failed ? 1 : 0;
}

process.once('message', (message: unknown) => {
  if ((message as Partial<WorkerInit> | null)?.type !== 'init') {
    report({ type: 'failed', message: 'a serve worker needs an init message first' });
    process.exit(1);
  }
  void run(message as WorkerInit).then((code) => {
    process.exitCode = code;
    if (process.connected) process.disconnect();
  });
});
