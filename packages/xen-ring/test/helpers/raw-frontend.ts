import type { BlockDevice } from '@blk/core';
import { Blkback, FrontRing, SharedDomain, decodeResponse, type BlkifResponse, type EventChannel } from '../../src/index.js';

export const FRONT_DOMID = 1;
export const BACK_DOMID = 0;

export interface RawFrontendOptions {
  readonly device: BlockDevice;
  readonly frames?: number;
  readonly order?: number;
  readonly ringStart?: number;
  readonly persistent?: boolean;
  readonly maxIndirectSegments?: number;
  readonly batch?: number;
  /** Serve the device read-only whatever it says. */
  readonly readOnly?: boolean;
}

function grantIn(domain: SharedDomain, frame: number, readonly: boolean, domid: number): number {
  const ref = domain.grants.allocateRef()!;
  domain.grants.grantAccess(ref, domid, frame, readonly);
  return ref;
}

/**
 * A frontend that writes ring slots by hand, for driving a Blkback (in this thread) with exactly
 * the bytes a test wants, hostile or not. The ring occupies the domain's first frames.
 */
export class RawFrontend {
  readonly domain: SharedDomain;
  readonly ring: FrontRing;
  readonly channel: EventChannel;
  readonly backend: Blkback;
  readonly ringRefs: readonly number[];
  readonly broken: string[];
  #nextId = 1;

  private constructor(
    domain: SharedDomain,
    ring: FrontRing,
    channel: EventChannel,
    backend: Blkback,
    ringRefs: number[],
    broken: string[],
  ) {
    this.domain = domain;
    this.ring = ring;
    this.channel = channel;
    this.backend = backend;
    this.ringRefs = ringRefs;
    this.broken = broken;
  }

  static async start(options: RawFrontendOptions): Promise<RawFrontend> {
    const order = options.order ?? 0;
    const domain = SharedDomain.create({ domid: FRONT_DOMID, frames: options.frames ?? 64 });
    const ringFrames = domain.frames.allocate(1 << order, true)!;
    const ring = FrontRing.initialise({ buffer: domain.memory, byteOffset: ringFrames[0]! * 4096, order }, options.ringStart ?? 0);
    const ringRefs = ringFrames.map((frame) => grantIn(domain, frame, false, BACK_DOMID));
    const channel = domain.events.allocUnbound(BACK_DOMID);
    const broken: string[] = [];
    const info = await options.device.getInfo();
    const backend = Blkback.start({
      device: options.device,
      info: options.readOnly ? { ...info, readWrite: false } : info,
      frontend: domain,
      domid: BACK_DOMID,
      ringRefs,
      eventChannel: channel.port,
      persistent: options.persistent ?? false,
      maxIndirectSegments: options.maxIndirectSegments ?? 0,
      ...(options.batch === undefined ? {} : { batch: options.batch }),
      onBroken: (reason) => broken.push(reason),
    });
    return new RawFrontend(domain, ring, channel, backend, ringRefs, broken);
  }

  grant(frame: number, readonly: boolean, domid = BACK_DOMID): number {
    return grantIn(this.domain, frame, readonly, domid);
  }

  /** A fresh frame of the domain and its bytes. */
  frame(): { frame: number; bytes: Uint8Array } {
    const [frame] = this.domain.frames.allocate(1)!;
    return { frame: frame!, bytes: this.domain.frame(frame!) };
  }

  nextId(): number {
    return this.#nextId++;
  }

  /** Claims a slot, lets `fill` write it, publishes it and kicks the backend if it asks. */
  send(fill: (view: DataView, at: number) => void): void {
    const at = this.ring.claimRequestSlot();
    fill(this.ring.view, at);
    if (this.ring.pushRequests()) this.channel.notify();
  }

  /** Waits (bounded) until `count` responses are published, takes and returns them. */
  async responses(count: number, timeoutMs = 5000): Promise<BlkifResponse[]> {
    const deadline = performance.now() + timeoutMs;
    while (this.ring.pendingResponses() < count) {
      if (performance.now() > deadline) throw new Error(`only ${this.ring.pendingResponses()} of ${count} responses arrived`);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const out: BlkifResponse[] = [];
    for (let i = 0; i < count; i++) out.push(decodeResponse(this.ring.view, this.ring.takeResponseSlot()));
    return out;
  }
}
