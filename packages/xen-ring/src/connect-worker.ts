import { BlockError } from '@blk/core';
import { MessageChannel, Worker } from 'node:worker_threads';
import type { BackendWorkerData, BackendWorkerMessage } from './backend-worker.js';
import { Blkfront, type BlkfrontOptions } from './blkfront.js';
import { resolveDeviceDescription, type DeviceDescription } from './device-description.js';
import { MemoryXenbusStore } from './memory-xenbus-store.js';
import { SharedDomain } from './shared-domain.js';
import { serveStoreOverPort } from './store-port.js';
import { createVbd, removeVbd } from './toolstack.js';
import type { XenbusStore } from './xenbus-store.js';

/** The frontend's options pass through to Blkfront.connect; `persistent` and `maxIndirectSegments` reach the backend too. */
export interface ConnectWorkerOptions extends Pick<
  BlkfrontOptions,
  'devid' | 'ringPageOrder' | 'maxIndirectSegments' | 'persistent' | 'poolPages' | 'chunkPages' | 'signal' | 'timeoutMs'
> {
  /** Where `device.module` is resolved from: the caller's `import.meta.url` (default: the working directory). */
  readonly from?: string | URL;
  /** The xenstore both sides use (default: a fresh in-memory one). A @blk/xenstore client works. */
  readonly store?: XenbusStore;
  readonly frontendDomid?: number;
  readonly backendDomid?: number;
  /** Pages of frontend memory shared with the worker (default 8192 = 32 MiB, reserved lazily by the OS). */
  readonly domainPages?: number;
  /**
   * How long (µs) each side keeps looking at the ring for more work before it sleeps and waits to
   * be notified. Saves wake-ups when each thread has a core of its own; costs throughput when
   * the cores are shared. Default 0.
   */
  readonly pollMicros?: number;
  /**
   * Let the backend's thread sleep in the kernel (blocking Atomics.wait, 1 ms slices) while its
   * ring is busy, so the frontend wakes it with a plain futex wake (default true). See
   * BlkbackOptions.blockingWait.
   */
  readonly blockingWait?: boolean;
  /** Sees the Worker once it is started (diagnostics, tests). */
  readonly onWorker?: (worker: Worker) => void;
  /** Receives the backend's log lines (frontends it refused, broken rings). */
  readonly onLog?: (message: string) => void;
}

const DEFAULT_POLL_MICROS = 0;

/**
 * The one-call setup: starts a worker thread that builds the described device and serves it with
 * Blkback, runs the XenBus handshake, and returns the connected Blkfront. `disconnect()` on it
 * closes the frontend, removes the device from the store and ends the worker (terminated if it
 * does not end within 5 s). The worker does not keep the process alive while the device is idle.
 */
export async function connectWorker(description: DeviceDescription, options: ConnectWorkerOptions = {}): Promise<Blkfront> {
  const resolved = resolveDeviceDescription(description, options.from);
  const store = options.store ?? new MemoryXenbusStore();
  const frontendDomid = options.frontendDomid ?? 1;
  const backendDomid = options.backendDomid ?? 0;
  const domain = SharedDomain.create({ domid: frontendDomid, frames: options.domainPages ?? 8192 });
  const vbd = await createVbd(store, {
    frontendDomid,
    backendDomid,
    devid: options.devid,
    params: resolved.url,
  });
  const channel = new MessageChannel();
  const served = serveStoreOverPort(store, channel.port1);
  const data: BackendWorkerData = {
    domain: domain.descriptor,
    backendPath: vbd.backendPath,
    domid: backendDomid,
    device: resolved,
    storePort: channel.port2,
    pollMicros: options.pollMicros ?? DEFAULT_POLL_MICROS,
    // The worker serves this one ring: it may sleep in the kernel while busy.
    blockingWait: options.blockingWait ?? true,
    maxIndirectSegments: options.maxIndirectSegments,
    persistent: options.persistent,
  };
  const worker = new Worker(new URL('./backend-worker.js', import.meta.url), {
    workerData: data,
    transferList: [channel.port2],
    // Workers inherit the process's flags; `--input-type` (node -e) would make this one fail.
    execArgv: process.execArgv.filter((arg) => !arg.startsWith('--input-type')),
  });
  options.onWorker?.(worker);
  const gone = new AbortController();
  let failure: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    worker.once('exit', () => {
      gone.abort();
      resolve();
    });
  });
  worker.on('error', (error) => {
    failure ??= error;
    gone.abort();
  });
  const ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (message: BackendWorkerMessage) => {
      if (message.type === 'ready') resolve();
      else if (message.type === 'error') reject(new BlockError('INVALID_ARGUMENT', `backend device: ${message.message}`));
      else if (message.type === 'log') options.onLog?.(message.message);
    });
    void exited.then(() => {
      reject(BlockError.io('backend worker exited during setup', failure));
    });
  });
  const teardown = async () => {
    await removeVbd(store, vbd).catch(() => undefined);
    worker.postMessage({ type: 'close' });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, 5_000)))]);
    clearTimeout(timer);
    await worker.terminate();
    served.close();
  };
  try {
    await ready;
    const front = await Blkfront.connect({
      store,
      pollMicros: options.pollMicros ?? DEFAULT_POLL_MICROS,
      domain,
      devid: vbd.devid,
      backendGone: gone.signal,
      afterDisconnect: teardown,
      ringPageOrder: options.ringPageOrder,
      maxIndirectSegments: options.maxIndirectSegments,
      persistent: options.persistent,
      poolPages: options.poolPages,
      chunkPages: options.chunkPages,
      signal: options.signal,
      timeoutMs: options.timeoutMs,
    });
    worker.unref();
    channel.port1.unref();
    return front;
  } catch (error) {
    await teardown();
    throw error;
  }
}
