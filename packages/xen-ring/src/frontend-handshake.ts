import { BlockError } from '@blk/core';
import { MAX_DIRECT_SEGMENTS, PAGE_SIZE, PROTOCOL_X86_64, SEGMENTS_PER_INDIRECT_PAGE } from './blkif-constants.js';
import type { EventChannel } from './event-channel.js';
import { FrontRing } from './front-ring.js';
import { RingClient } from './ring-client.js';
import type { SharedDomain } from './shared-domain.js';
import { ringEntries } from './shared-ring.js';
import { DEFAULT_DEVID } from './toolstack.js';
import { readBackendDevice, readBackendTransport, writeFrontendRing, type BackendDevice, type BackendTransport } from './xenbus-keys.js';
import { readState, writeState, writeStateIfPresent, XenbusState } from './xenbus-state.js';
import { notYet, readOptional, type XenbusStore } from './xenbus-store.js';

export interface FrontendHandshakeOptions {
  readonly store: XenbusStore;
  /** This frontend's domain: its memory holds the ring and the page pool. */
  readonly domain: SharedDomain;
  /** Device number under `device/vbd/` (default 51712, xvda). */
  readonly devid?: number | undefined;
  /** The frontend directory, if not `/local/domain/<domid>/device/vbd/<devid>`. */
  readonly path?: string;
  /** Largest ring wanted, as a page order 0–4 (default 0); the backend's maximum caps it. */
  readonly ringPageOrder?: number | undefined;
  /** Largest indirect request to send (default 256 segments = 1 MiB); the backend's maximum caps it. */
  readonly maxIndirectSegments?: number | undefined;
  /** Ask for persistent grants (default true); used when the backend offers them too. */
  readonly persistent?: boolean | undefined;
  /** Pages reserved for data and indirect descriptors (default: enough for four of the largest requests). */
  readonly poolPages?: number | undefined;
  /** The ring's first index (tests start near 2^32 to cross the wrap). */
  readonly ringStart?: number;
  /**
   * While requests are in flight, keep looking for responses from the event loop this long (µs)
   * before sleeping until the backend notifies. Pays off only with a core to spare for each
   * side; on a busy machine it slows both down. Default 0: sleep at once.
   */
  readonly pollMicros?: number;
  /** Aborts the handshake. */
  readonly signal?: AbortSignal | undefined;
  /** Bound on each wait for the backend (default 30 s). */
  readonly timeoutMs?: number | undefined;
}

/** A connected frontend: its ring, channel and request engine, and what was negotiated. */
export interface FrontendConnection {
  readonly path: string;
  readonly backendPath: string;
  readonly backendDomid: number;
  readonly order: number;
  readonly ringFrames: readonly number[];
  readonly ringRefs: readonly number[];
  readonly poolFrames: readonly number[];
  readonly channel: EventChannel;
  readonly client: RingClient;
  readonly transport: BackendTransport;
  readonly device: BackendDevice;
  readonly persistent: boolean;
  /** Most segments per request: 11 direct, more with indirect requests. */
  readonly maxSegments: number;
}

function parseDomid(text: string): number {
  const n = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n)) throw new Error(`invalid backend-id ${JSON.stringify(text)}`);
  return n;
}

function waitSignal(options: FrontendHandshakeOptions): AbortSignal {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 30_000);
  return options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
}

function handshakeError(message: string, cause?: unknown): BlockError {
  return BlockError.io(`blkfront handshake: ${message}${cause instanceof Error ? `: ${cause.message}` : ''}`, cause);
}

/**
 * The frontend half of the XenBus handshake: Initialising, wait for the backend's offer (InitWait,
 * or features already written by a backend that skips InitWait as mirage's does), allocate and
 * grant the ring, publish the ring keys and Initialised in one transaction, wait for Connected,
 * read the device properties, Connected.
 */
export async function connectFrontend(options: FrontendHandshakeOptions): Promise<FrontendConnection> {
  const { store, domain } = options;
  const path = options.path ?? `/local/domain/${domain.domid}/device/vbd/${options.devid ?? DEFAULT_DEVID}`;
  let backendPath: string;
  let backendDomid: number;
  try {
    [backendPath, backendDomid] = await store.immediate(async (h) => {
      const back = await h.read(`${path}/backend`);
      const id = parseDomid(await h.read(`${path}/backend-id`));
      await writeState(h, path, XenbusState.Initialising);
      return [back, id] as const;
    });
  } catch (error) {
    throw handshakeError(`cannot read ${path}/backend and backend-id`, error);
  }

  try {
    await store.wait(
      async (h) => {
        const state = await readState(h, backendPath);
        if (state !== undefined && state >= XenbusState.InitWait && state <= XenbusState.Connected) return;
        if (state === XenbusState.Initialising && (await readOptional(h, `${backendPath}/sectors`)) !== undefined) return;
        throw notYet('backend not ready');
      },
      { signal: waitSignal(options) },
    );
  } catch (error) {
    throw handshakeError('backend never offered a connection', error);
  }

  const offer = await store.immediate((h) => readBackendTransport(h, backendPath));
  const order = Math.min(options.ringPageOrder ?? 0, offer.maxRingPageOrder);
  ringEntries(order);
  const ringFrames = domain.frames.allocate(1 << order, true);
  if (!ringFrames) throw handshakeError(`no ${1 << order} consecutive free pages for the ring`);
  const ring = FrontRing.initialise({ buffer: domain.memory, byteOffset: ringFrames[0]! * PAGE_SIZE, order }, options.ringStart ?? 0);
  const ringRefs: number[] = [];
  const cleanup: (() => void)[] = [];
  const undo = () => {
    for (const step of cleanup.reverse()) step();
  };
  cleanup.push(() => {
    domain.frames.release(ringFrames);
  });
  for (const frame of ringFrames) {
    const ref = domain.grants.allocateRef();
    if (ref === undefined) {
      undo();
      throw handshakeError('grant table full');
    }
    domain.grants.grantAccess(ref, backendDomid, frame, false);
    ringRefs.push(ref);
    cleanup.push(() => {
      if (domain.grants.endAccess(ref)) domain.grants.freeRef(ref);
    });
  }
  const channel = domain.events.allocUnbound(backendDomid);
  cleanup.push(() => {
    channel.close();
    domain.events.free(channel.port);
  });
  const wantPersistent = options.persistent ?? true;

  try {
    await store.transaction(async (h) => {
      await writeFrontendRing(h, path, {
        ringRefs,
        order,
        eventChannel: channel.port,
        protocol: PROTOCOL_X86_64,
        persistent: wantPersistent,
      });
      await writeState(h, path, XenbusState.Initialised);
    });
    await store.wait(
      async (h) => {
        const state = await readState(h, backendPath);
        if (state === XenbusState.Connected) return;
        if (state === undefined || state === XenbusState.Closing || state === XenbusState.Closed) {
          throw new Error(`backend went to ${String(state ?? 'nothing')} instead of Connected`);
        }
        throw notYet('backend not connected');
      },
      { signal: waitSignal(options) },
    );
  } catch (error) {
    undo();
    await store.immediate((h) => writeState(h, path, XenbusState.Closed)).catch(() => undefined);
    throw handshakeError('backend did not connect', error);
  }

  let transport: BackendTransport;
  let device: BackendDevice;
  try {
    [transport, device] = await store.immediate(
      async (h) => [await readBackendTransport(h, backendPath), await readBackendDevice(h, backendPath)] as const,
    );
  } catch (error) {
    undo();
    await store.immediate((h) => writeState(h, path, XenbusState.Closed)).catch(() => undefined);
    throw handshakeError('bad device properties', error);
  }

  const persistent = wantPersistent && transport.persistent;
  const maxSegments =
    transport.maxIndirectSegments > MAX_DIRECT_SEGMENTS
      ? Math.min(options.maxIndirectSegments ?? 256, transport.maxIndirectSegments)
      : MAX_DIRECT_SEGMENTS;
  const segments = Math.max(maxSegments, MAX_DIRECT_SEGMENTS);
  const largest = segments + (segments > MAX_DIRECT_SEGMENTS ? Math.ceil(segments / SEGMENTS_PER_INDIRECT_PAGE) : 0);
  const poolPages = Math.max(options.poolPages ?? Math.max(4 * largest, ring.entries * MAX_DIRECT_SEGMENTS), largest);
  const poolFrames = domain.frames.allocate(poolPages);
  if (!poolFrames) {
    undo();
    await store.immediate((h) => writeState(h, path, XenbusState.Closed)).catch(() => undefined);
    throw handshakeError(`no ${poolPages} free pages for the data pool`);
  }
  cleanup.push(() => {
    domain.frames.release(poolFrames);
  });
  let client: RingClient;
  try {
    client = new RingClient({
      domain,
      backendDomid,
      ring,
      channel,
      poolFrames,
      persistent,
      handle: options.devid ?? DEFAULT_DEVID,
      pollMicros: options.pollMicros ?? 0,
    });
    await store.immediate((h) => writeState(h, path, XenbusState.Connected));
  } catch (error) {
    undo();
    throw handshakeError('cannot start', error);
  }
  return {
    path,
    backendPath,
    backendDomid,
    order,
    ringFrames,
    ringRefs,
    poolFrames,
    channel,
    client,
    transport,
    device,
    persistent,
    maxSegments: segments,
  };
}

/**
 * The frontend's side of closing: Closing, wait (bounded) for the backend to close its end —
 * it unmaps everything — then take back every grant, free the pages and the port, Closed. Grants
 * the backend still holds are left alone (their pages are not reused). Never throws.
 */
export async function disconnectFrontend(store: XenbusStore, connection: FrontendConnection, timeoutMs = 5_000): Promise<void> {
  const { path, backendPath } = connection;
  await writeStateIfPresent(store, path, XenbusState.Closing).catch(() => undefined);
  if (timeoutMs > 0) {
    await store
      .wait(
        async (h) => {
          const state = await readState(h, backendPath);
          if (state === undefined || state === XenbusState.Closing || state === XenbusState.Closed || state === XenbusState.InitWait)
            return;
          throw notYet('backend still connected');
        },
        { signal: AbortSignal.timeout(timeoutMs) },
      )
      .catch(() => undefined);
  }
  const stuck = connection.client.release();
  const domain = connection.client.domain;
  let ringFree = true;
  for (const ref of connection.ringRefs) {
    if (domain.grants.endAccess(ref)) domain.grants.freeRef(ref);
    else ringFree = false;
  }
  if (ringFree) domain.frames.release(connection.ringFrames);
  if (stuck === 0) domain.frames.release(connection.poolFrames);
  connection.channel.close();
  domain.events.free(connection.channel.port);
  await writeStateIfPresent(store, path, XenbusState.Closed).catch(() => undefined);
}
