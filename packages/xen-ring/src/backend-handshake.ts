import { thrownMessage, type BlockDevice, type BlockInfo } from '@blk/core';
import { Blkback, type BlkbackOptions } from './blkback.js';
import { MAX_INDIRECT_SEGMENTS, SECTOR_BYTES, VDISK_READONLY } from './blkif-constants.js';
import type { SharedDomain } from './shared-domain.js';
import { MAX_RING_PAGE_ORDER } from './shared-ring.js';
import { readFrontendRing, writeBackendDevice, writeBackendTransport } from './xenbus-keys.js';
import { readState, writeState, writeStateIfPresent, XenbusState, type XenbusStateValue } from './xenbus-state.js';
import { notYet, readOptional, type XenbusHandle, type XenbusStore } from './xenbus-store.js';

/** How a Blkback serves its ring, passed through unchanged by the service. */
export type BlkbackTuning = Pick<BlkbackOptions, 'pollMicros' | 'blockingWait' | 'batch'>;

export interface BlkbackServiceOptions extends BlkbackTuning {
  readonly store: XenbusStore;
  /** `/local/domain/<back>/backend/vbd/<front>/<devid>`, made by the toolstack (`createVbd`). */
  readonly backendPath: string;
  readonly device: BlockDevice;
  /** The hypervisor's part: the memory, grants and event channels of frontend domain `domid`. */
  readonly domains: (domid: number) => SharedDomain | undefined;
  /** This backend's domain id (default 0). */
  readonly domid?: number;
  /** Offered `max-ring-page-order` (default 4). */
  readonly maxRingPageOrder?: number | undefined;
  /** Offered `feature-max-indirect-segments` (default 256; 0 offers no indirect requests). */
  readonly maxIndirectSegments?: number | undefined;
  /** Offer `feature-persistent` (default true). */
  readonly persistent?: boolean | undefined;
  /** Stops the service (as `close`). */
  readonly signal?: AbortSignal;
  /** Every state this backend writes, in order. */
  readonly onState?: (state: XenbusStateValue) => void;
  /** Problems that did not stop the service (a frontend that could not connect) and the one that did. */
  readonly onError?: (message: string) => void;
}

export interface BlkbackService {
  /** Resolves when the service has stopped: `close`, the signal, or the toolstack removed the backend directory. Never rejects. */
  readonly done: Promise<void>;
  /** The ring server while a frontend is connected. */
  readonly blkback: Blkback | undefined;
  /**
   * Re-reads the device's size and publishes it (`sectors`), for a device that was resized while
   * served; the connected frontend picks the new size up. Sector size changes are not supported.
   */
  refresh(): Promise<void>;
  /** Stops serving: the connected frontend (if any) sees Closed. */
  close(): Promise<void>;
}

const GONE = Symbol('backend directory removed');

function frontendDomidOf(text: string): number {
  const t = text.trim();
  const n = Number(t);
  if (!/^\d+$/.test(t) || !Number.isSafeInteger(n)) throw new Error(`invalid frontend-id ${JSON.stringify(text)}`);
  return n;
}

/**
 * The backend half of the XenBus handshake, for as many connections as the frontend makes:
 * publish the features and the device (InitWait), wait for the frontend to be Initialised — or
 * Connected, as mirage's frontend jumps there — map its ring and serve it (Connected), and when it
 * goes Closing (or vanishes, or breaks the ring) close the ring, Closing, then Closed once it is.
 * A frontend that returns to Initialising is served again.
 */
export function serveBlkback(options: BlkbackServiceOptions): BlkbackService {
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const state: { blkback: Blkback | undefined } = { blkback: undefined };
  const done = runBackend(options, signal, state).catch((error: unknown) => {
    options.onError?.(thrownMessage(error));
  });
  return {
    done,
    get blkback() {
      return state.blkback;
    },
    async refresh() {
      const info = await options.device.getInfo();
      state.blkback?.resized(info);
      await options.store.immediate(async (h) => {
        if ((await readState(h, options.backendPath)) !== undefined) {
          await h.write(`${options.backendPath}/sectors`, String(info.sizeSectors * (info.sectorSize / SECTOR_BYTES)));
        }
      });
    },
    async close() {
      stop.abort();
      await done;
    },
  };
}

async function runBackend(options: BlkbackServiceOptions, signal: AbortSignal, state: { blkback: Blkback | undefined }): Promise<void> {
  const { store, backendPath, device } = options;
  const domid = options.domid ?? 0;
  const report = (message: string) => options.onError?.(message);
  const stopped = () => signal.aborted;
  /** Writes our state unless the toolstack has removed the directory meanwhile (never recreate it). */
  const setState = async (value: XenbusStateValue) => {
    const written = await writeStateIfPresent(store, backendPath, value);
    if (written) options.onState?.(value);
    return written;
  };
  /** Waits on `fn`; GONE when the backend directory disappears, undefined when stopped. */
  const waitFor = async <T>(fn: (h: XenbusHandle) => Promise<T | undefined>, extra?: AbortSignal): Promise<T | typeof GONE | undefined> => {
    try {
      return await store.wait(
        async (h) => {
          if ((await readState(h, backendPath)) === undefined) return GONE;
          const result = await fn(h);
          if (result === undefined) throw notYet();
          return result;
        },
        { signal: extra ? AbortSignal.any([signal, extra]) : signal },
      );
    } catch (error) {
      if (signal.aborted || extra?.aborted) return undefined;
      throw error;
    }
  };

  const [frontendPath, frontendDomid] = await store.immediate(
    async (h) => [await h.read(`${backendPath}/frontend`), frontendDomidOf(await h.read(`${backendPath}/frontend-id`))] as const,
  );
  const maxOrder = Math.min(options.maxRingPageOrder ?? MAX_RING_PAGE_ORDER, MAX_RING_PAGE_ORDER);
  const maxIndirect = Math.min(options.maxIndirectSegments ?? 256, MAX_INDIRECT_SEGMENTS);
  const offerPersistent = options.persistent ?? true;

  try {
    while (!signal.aborted) {
      const deviceInfo = await device.getInfo();
      const mode = await store.immediate((h) => readOptional(h, `${backendPath}/mode`));
      const readOnly = !deviceInfo.readWrite || mode === 'r';
      const info: BlockInfo = { ...deviceInfo, readWrite: !readOnly };
      const flush = device.supports.flush && typeof device.flush === 'function';
      const discard = device.supports.discard && typeof device.discard === 'function' && !readOnly;
      const present = await store.transaction(async (h) => {
        if ((await readState(h, backendPath)) === undefined) return false;
        await writeBackendTransport(h, backendPath, {
          maxRingPageOrder: maxOrder,
          persistent: offerPersistent,
          maxIndirectSegments: maxIndirect,
          flushCache: flush,
          barrier: flush,
          discard,
        });
        await writeBackendDevice(h, backendPath, {
          sectors: info.sizeSectors * (info.sectorSize / SECTOR_BYTES),
          sectorSize: info.sectorSize,
          physicalSectorSize: info.sectorSize,
          info: readOnly ? VDISK_READONLY : 0,
          readOnly,
          discardGranularity: discard ? info.sectorSize : 0,
          discardSecure: false,
        });
        await h.write(`${backendPath}/hotplug-status`, 'connected');
        await writeState(h, backendPath, XenbusState.InitWait);
        return true;
      });
      if (!present) return;
      options.onState?.(XenbusState.InitWait);

      const ready = await waitFor(async (h) => {
        const front = await readState(h, frontendPath);
        return front === XenbusState.Initialised || front === XenbusState.Connected ? true : undefined;
      });
      if (ready !== true) return;

      let problem: string | undefined;
      try {
        const keys = await store.immediate((h) => readFrontendRing(h, frontendPath, maxOrder));
        const frontend = options.domains(frontendDomid);
        if (!frontend) throw new Error(`no shared memory for domain ${frontendDomid}`);
        state.blkback = Blkback.start({
          device,
          info,
          frontend,
          domid,
          ringRefs: keys.ringRefs,
          eventChannel: keys.eventChannel,
          persistent: offerPersistent && keys.persistent,
          maxIndirectSegments: maxIndirect,
          pollMicros: options.pollMicros,
          blockingWait: options.blockingWait,
          batch: options.batch,
          onBroken: (reason) => {
            report(`frontend broke the ring: ${reason}`);
          },
        });
      } catch (error) {
        problem = thrownMessage(error);
      }

      if (state.blkback) {
        const blkback = state.blkback;
        await setState(XenbusState.Connected);
        const broken = new AbortController();
        void blkback.served.then(() => {
          broken.abort();
        });
        const ended = await waitFor(async (h) => {
          const front = await readState(h, frontendPath);
          return front === undefined || front === XenbusState.Closing || front === XenbusState.Closed || front === XenbusState.Initialising
            ? true
            : undefined;
        }, broken.signal);
        await blkback.close();
        state.blkback = undefined;
        if (ended === GONE || stopped()) return;
      } else {
        report(`cannot connect frontend ${frontendPath}: ${problem ?? 'unknown'}`);
        await store.immediate((h) => h.write(`${backendPath}/error`, problem ?? 'connect failed')).catch(() => undefined);
      }

      await setState(XenbusState.Closing);
      const closed = await waitFor(async (h) => {
        const front = await readState(h, frontendPath);
        return front === undefined || front === XenbusState.Closed || front === XenbusState.Initialising
          ? (front ?? 'vanished')
          : undefined;
      });
      if (closed === GONE || closed === undefined) return;
      await setState(XenbusState.Closed);
      if (closed === 'vanished') return;
      const again = await waitFor(async (h) => {
        const front = await readState(h, frontendPath);
        if (front === undefined) return 'vanished';
        return front === XenbusState.Closing || front === XenbusState.Closed ? undefined : 'again';
      });
      if (again !== 'again') return;
    }
  } finally {
    if (state.blkback) {
      await state.blkback.close();
      state.blkback = undefined;
    }
    if (signal.aborted) {
      await setState(XenbusState.Closed).catch(() => undefined);
    }
  }
}
