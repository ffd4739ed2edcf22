import { thrownMessage } from '@blk/core';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { serveBlkback, type BlkbackServiceOptions } from './backend-handshake.js';
import { loadDevice, type ResolvedDeviceDescription } from './device-description.js';
import { SharedDomain, type SharedDomainDescriptor } from './shared-domain.js';
import { PortXenbusStore } from './store-port.js';
import type { XenbusStateValue } from './xenbus-state.js';

// The entry of the backend's worker thread (started by `connectWorker`, or by hand with this data):
// builds the device from its description, runs the backend handshake over the store carried by
// `storePort`, serves the frontend's ring from the shared domain memory, and ends — disconnecting
// the device — when the toolstack removes the backend directory or it is told to close.

/** What the worker is started with: where to serve, and the service's offers and tuning as given. */
export interface BackendWorkerData extends Pick<
  BlkbackServiceOptions,
  'maxRingPageOrder' | 'maxIndirectSegments' | 'persistent' | 'pollMicros' | 'blockingWait' | 'batch'
> {
  readonly domain: SharedDomainDescriptor;
  readonly backendPath: string;
  readonly domid: number;
  readonly device: ResolvedDeviceDescription;
  readonly storePort: MessagePort;
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
    post({ type: 'error', message: thrownMessage(error) });
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
    maxRingPageOrder: data.maxRingPageOrder,
    maxIndirectSegments: data.maxIndirectSegments,
    persistent: data.persistent,
    pollMicros: data.pollMicros,
    blockingWait: data.blockingWait,
    batch: data.batch,
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
