import { MAX_INDIRECT_SEGMENTS, PROTOCOL_X86_64, SECTOR_BYTES, VDISK_READONLY } from './blkif-constants.js';
import { MAX_RING_PAGE_ORDER } from './shared-ring.js';
import { readOptional, type XenbusHandle } from './xenbus-store.js';

// The keys of blkif's XenBus handshake (xen/include/public/io/blkif.h). Numbers are decimal,
// booleans "0"/"1".

function parseUint(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (!/^\d{1,16}$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : undefined;
}

function parseBool(text: string | undefined): boolean {
  return parseUint(text) === 1;
}

/** What the backend offers before the frontend connects (written before InitWait). */
export interface BackendTransport {
  readonly maxRingPageOrder: number;
  readonly persistent: boolean;
  /** 0 when indirect requests are not offered. */
  readonly maxIndirectSegments: number;
  readonly flushCache: boolean;
  readonly barrier: boolean;
  readonly discard: boolean;
}

/** The device's properties (written before Connected). */
export interface BackendDevice {
  /** In 512-byte units, whatever the sector size. */
  readonly sectors: number;
  readonly sectorSize: number;
  readonly physicalSectorSize: number;
  readonly info: number;
  readonly readOnly: boolean;
  readonly discardGranularity: number;
  readonly discardSecure: boolean;
}

export async function writeBackendTransport(h: XenbusHandle, dir: string, t: BackendTransport): Promise<void> {
  await h.write(`${dir}/max-ring-page-order`, String(t.maxRingPageOrder));
  await h.write(`${dir}/feature-persistent`, t.persistent ? '1' : '0');
  if (t.maxIndirectSegments > 0) await h.write(`${dir}/feature-max-indirect-segments`, String(t.maxIndirectSegments));
  await h.write(`${dir}/feature-flush-cache`, t.flushCache ? '1' : '0');
  await h.write(`${dir}/feature-barrier`, t.barrier ? '1' : '0');
  await h.write(`${dir}/feature-discard`, t.discard ? '1' : '0');
}

export async function writeBackendDevice(h: XenbusHandle, dir: string, d: BackendDevice): Promise<void> {
  await h.write(`${dir}/sectors`, String(d.sectors));
  await h.write(`${dir}/sector-size`, String(d.sectorSize));
  await h.write(`${dir}/physical-sector-size`, String(d.physicalSectorSize));
  await h.write(`${dir}/info`, String(d.info));
  if (d.discardGranularity > 0) {
    await h.write(`${dir}/discard-granularity`, String(d.discardGranularity));
    await h.write(`${dir}/discard-alignment`, '0');
    await h.write(`${dir}/discard-secure`, d.discardSecure ? '1' : '0');
  }
}

/** Reads the backend's transport offer; missing keys mean the feature is absent (order 0). */
export async function readBackendTransport(h: XenbusHandle, dir: string): Promise<BackendTransport> {
  let maxRingPageOrder = parseUint(await readOptional(h, `${dir}/max-ring-page-order`));
  if (maxRingPageOrder === undefined) {
    const pages = parseUint(await readOptional(h, `${dir}/max-ring-pages`));
    maxRingPageOrder = pages !== undefined && pages > 0 ? Math.floor(Math.log2(pages)) : 0;
  }
  return {
    maxRingPageOrder: Math.min(maxRingPageOrder, MAX_RING_PAGE_ORDER),
    persistent: parseBool(await readOptional(h, `${dir}/feature-persistent`)),
    maxIndirectSegments: Math.min(parseUint(await readOptional(h, `${dir}/feature-max-indirect-segments`)) ?? 0, MAX_INDIRECT_SEGMENTS),
    flushCache: parseBool(await readOptional(h, `${dir}/feature-flush-cache`)),
    barrier: parseBool(await readOptional(h, `${dir}/feature-barrier`)),
    discard: parseBool(await readOptional(h, `${dir}/feature-discard`)),
  };
}

/** Reads the device properties; throws a message naming the first bad key. */
export async function readBackendDevice(h: XenbusHandle, dir: string): Promise<BackendDevice> {
  const sectors = parseUint(await readOptional(h, `${dir}/sectors`));
  if (sectors === undefined) throw new Error(`backend ${dir} has no valid 'sectors'`);
  const sectorSizeText = await readOptional(h, `${dir}/sector-size`);
  const sectorSize = sectorSizeText === undefined ? SECTOR_BYTES : parseUint(sectorSizeText);
  if (sectorSize === undefined || sectorSize < SECTOR_BYTES || sectorSize > 65536 || (sectorSize & (sectorSize - 1)) !== 0) {
    throw new Error(`backend ${dir} has an invalid 'sector-size' ${JSON.stringify(sectorSizeText)}`);
  }
  const info = parseUint(await readOptional(h, `${dir}/info`)) ?? 0;
  const mode = await readOptional(h, `${dir}/mode`);
  return {
    sectors,
    sectorSize,
    physicalSectorSize: parseUint(await readOptional(h, `${dir}/physical-sector-size`)) ?? sectorSize,
    info,
    readOnly: (info & VDISK_READONLY) !== 0 || mode === 'r',
    discardGranularity: parseUint(await readOptional(h, `${dir}/discard-granularity`)) ?? 0,
    discardSecure: parseBool(await readOptional(h, `${dir}/discard-secure`)),
  };
}

/** What the frontend publishes before Initialised. */
export interface FrontendRingKeys {
  readonly ringRefs: readonly number[];
  readonly order: number;
  readonly eventChannel: number;
  readonly protocol: string;
  readonly persistent: boolean;
}

/** `ring-ref` for a one-page ring, `ring-page-order` + `ring-ref<i>` otherwise. */
export async function writeFrontendRing(h: XenbusHandle, dir: string, keys: FrontendRingKeys): Promise<void> {
  if (keys.order === 0) {
    await h.write(`${dir}/ring-ref`, String(keys.ringRefs[0]));
  } else {
    await h.write(`${dir}/ring-page-order`, String(keys.order));
    for (let i = 0; i < keys.ringRefs.length; i++) await h.write(`${dir}/ring-ref${i}`, String(keys.ringRefs[i]));
  }
  await h.write(`${dir}/event-channel`, String(keys.eventChannel));
  await h.write(`${dir}/protocol`, keys.protocol);
  await h.write(`${dir}/feature-persistent`, keys.persistent ? '1' : '0');
}

/**
 * Reads the frontend's ring keys (`ring-page-order` + `ring-ref<i>`, legacy `num-ring-pages`, or a
 * single `ring-ref`). Throws a message when they are missing, malformed or ask for more than
 * `maxOrder`, or use a layout other than x86_64's.
 */
export async function readFrontendRing(h: XenbusHandle, dir: string, maxOrder: number): Promise<FrontendRingKeys> {
  const queues = parseUint(await readOptional(h, `${dir}/multi-queue-num-queues`));
  if (queues !== undefined && queues > 1) throw new Error(`frontend asks for ${queues} queues; only one is offered`);
  let order = parseUint(await readOptional(h, `${dir}/ring-page-order`));
  if (order === undefined) {
    const pages = parseUint(await readOptional(h, `${dir}/num-ring-pages`));
    if (pages !== undefined) {
      if (pages < 1 || (pages & (pages - 1)) !== 0) throw new Error(`frontend num-ring-pages ${pages} is not a power of two`);
      order = Math.log2(pages);
    }
  }
  const ringRefs: number[] = [];
  if (order === undefined) {
    const ref = parseUint(await readOptional(h, `${dir}/ring-ref`));
    if (ref === undefined) throw new Error(`frontend ${dir} has no valid ring-ref`);
    order = 0;
    ringRefs.push(ref);
  } else {
    if (order > maxOrder) throw new Error(`frontend ring-page-order ${order} exceeds ${maxOrder}`);
    for (let i = 0; i < 2 ** order; i++) {
      const ref = parseUint(await readOptional(h, `${dir}/ring-ref${i}`));
      if (ref === undefined) throw new Error(`frontend ${dir} has no valid ring-ref${i}`);
      ringRefs.push(ref);
    }
  }
  const eventChannel = parseUint(await readOptional(h, `${dir}/event-channel`));
  if (eventChannel === undefined) throw new Error(`frontend ${dir} has no valid event-channel`);
  const protocol = (await readOptional(h, `${dir}/protocol`)) ?? PROTOCOL_X86_64;
  if (protocol !== PROTOCOL_X86_64 && protocol !== 'arm-abi') {
    throw new Error(`frontend protocol ${JSON.stringify(protocol)} is not supported (x86_64-abi only)`);
  }
  return { ringRefs, order, eventChannel, protocol, persistent: parseBool(await readOptional(h, `${dir}/feature-persistent`)) };
}
