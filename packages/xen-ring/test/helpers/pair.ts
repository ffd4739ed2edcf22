import type { BlockDevice } from '@blk/core';
import {
  Blkfront,
  MemoryXenbusStore,
  SharedDomain,
  createVbd,
  serveBlkback,
  type BlkbackService,
  type BlkbackServiceOptions,
  type BlkfrontOptions,
  type VbdPaths,
} from '../../src/index.js';

export interface Pair {
  readonly front: Blkfront;
  readonly service: BlkbackService;
  readonly store: MemoryXenbusStore;
  readonly domain: SharedDomain;
  readonly vbd: VbdPaths;
  readonly states: number[];
  /** Disconnects the frontend and stops the backend. */
  close(): Promise<void>;
}

/** Blkfront and Blkback in this thread, talking through an in-memory store. */
export async function connectPair(
  device: BlockDevice,
  options: {
    readonly front?: Partial<BlkfrontOptions>;
    readonly back?: Partial<BlkbackServiceOptions>;
    readonly mode?: 'r' | 'w';
  } = {},
): Promise<Pair> {
  const store = new MemoryXenbusStore();
  const domain = SharedDomain.create({ domid: 1, frames: 4096 });
  const vbd = await createVbd(store, { frontendDomid: 1, backendDomid: 0, ...(options.mode ? { mode: options.mode } : {}) });
  const states: number[] = [];
  const service = serveBlkback({
    store,
    backendPath: vbd.backendPath,
    device,
    domains: (domid) => (domid === 1 ? domain : undefined),
    onState: (state) => states.push(state),
    ...options.back,
  });
  const front = await Blkfront.connect({ store, domain, timeoutMs: 5000, ...options.front });
  return {
    front,
    service,
    store,
    domain,
    vbd,
    states,
    async close() {
      await front.disconnect();
      await service.close();
    },
  };
}
