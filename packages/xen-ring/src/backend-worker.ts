import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { serveBlkback } from './backend-handshake.js';
import { loadDevice, type ResolvedDeviceDescription } from './device-description.js';
import { SharedDomain, type SharedDomainDescriptor } from './shared-domain.js';
import { PortXenbusStore } from './store-port.js';
import type { XenbusStateValue } from './xenbus-state.js';

// The entry of the backend's worker thread (started by `connectWorker`, or by hand with this data):
// builds the device from its description, runs the backend handshake over the store carried by
// `storePort`, serves the frontend's ring from the shared domain memory, and ends — disconnecting
// the device — when the toolstack removes the backend directory or it is told to close.

export interface BackendWorkerData {
  readonly domain: SharedDomainDescriptor;
  readonly backendPath: string;
  readonly domid: number;
  readonly device: ResolvedDeviceDescription;
  readonly storePort: MessagePort;
  readonly maxRingPageOrder?: number;
  readonly maxIndirectSegments?: number;
  readonly persistent?: boolean;
  readonly pollMicros?: number;
  readonly blockingWait?: boolean;
  readonly batch?: number;
}

/** Messages from the worker to its parent. */
export type BackendWorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: 'state'; readonly state: XenbusStateValue }
  | { readonly type: 'log'; readonly message: string }
  | { readonly type: 'closed' };

/** Messages from the parent: `close` stops the service. */
export interface BackendWorkerCommand {
  readonly type: 'close';
}

async function main(port: MessagePort, data: BackendWorkerData): Promise<void> {
  const post = (message: BackendWorkerMessage) => {
    port.postMessage(message);
  };
  const store = new PortXenbusStore(data.storePort);
  let device;
  try {
    device = await loadDevice(data.device);
  } catch (error) {
    post({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    store.close();
    return;
  }
  const domain = SharedDomain.attach(data.domain);
  const service = serveBlkback({
    store,
    backendPath: data.backendPath,
    device,
    domains: (domid) => (domid === domain.domid ? domain : undefined),
    domid: data.domid,
    ...(data.maxRingPageOrder === undefined ? {} : { maxRingPageOrder: data.maxRingPageOrder }),
    ...(data.maxIndirectSegments === undefined ? {} : { maxIndirectSegments: data.maxIndirectSegments }),
    ...(data.persistent === undefined ? {} : { persistent: data.persistent }),
    ...(data.pollMicros === undefined ? {} : { pollMicros: data.pollMicros }),
    ...(data.blockingWait === undefined ? {} : { blockingWait: data.blockingWait }),
    ...(data.batch === undefined ? {} : { batch: data.batch }),
    onState: (state) => {
      post({ type: 'state', state });
    },
    onError: (message) => {
      post({ type: 'log', message });
    },
  });
  const onCommand = (_command: BackendWorkerCommand) => {
    void service.close();
  };
  port.on('message', onCommand);
  post({ type: 'ready' });
  await service.done;
  await device.disconnect().catch(() => undefined);
  post({ type: 'closed' });
  port.off('message', onCommand);
  store.close();
}

if (parentPort) void main(parentPort, workerData as BackendWorkerData);
