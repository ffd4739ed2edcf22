import { expectBlockError, pattern } from '@blk/conformance';
import { Ramdisk } from '@blk/ramdisk';
import { describe, expect, it } from 'vitest';
import {
  Blkback,
  BlkifOp,
  BlkifStatus,
  Blkfront,
  FrontRing,
  MemoryXenbusStore,
  SharedDomain,
  XenbusState,
  createVbd,
  decodeResponse,
  notYet,
  readState,
  removeVbd,
  serveBlkback,
  writeRwHeader,
  writeSegment,
  type XenbusHandle,
  type XenbusStore,
} from '../src/index.js';

/** Records every write to a `state` node, in order, as "front:4" / "back:2". */
function recordStates(store: XenbusStore): { store: XenbusStore; log: string[] } {
  const log: string[] = [];
  const wrap = (h: XenbusHandle): XenbusHandle => ({
    read: (p) => h.read(p),
    directory: (p) => h.directory(p),
    rm: (p) => h.rm(p),
    mkdir: (p) => h.mkdir(p),
    getdomainpath: (d) => h.getdomainpath(d),
    write: async (p, v) => {
      await h.write(p, v);
      if (p.endsWith('/state')) log.push(`${p.includes('/backend/') ? 'back' : 'front'}:${v}`);
    },
  });
  return {
    log,
    store: {
      immediate: (fn) => store.immediate((h) => fn(wrap(h))),
      transaction: (fn) => store.transaction((h) => fn(wrap(h))),
      wait: (fn, options) => store.wait((h) => fn(wrap(h)), options),
    },
  };
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function waitState(store: XenbusStore, dir: string, wanted: readonly number[]): Promise<number> {
  return store.wait(
    async (h) => {
      const state = await readState(h, dir);
      if (state !== undefined && wanted.includes(state)) return state;
      throw notYet();
    },
    { signal: AbortSignal.timeout(5000) },
  );
}

describe('XenBus handshake between Blkfront and Blkback', () => {
  it('walks Initialising → InitWait → Initialised → Connected, then Closing → Closed on disconnect', async () => {
    const memory = new MemoryXenbusStore();
    const { store, log } = recordStates(memory);
    const domain = SharedDomain.create({ domid: 1, frames: 2048 });
    const vbd = await createVbd(store, { frontendDomid: 1, backendDomid: 0 });
    const service = serveBlkback({ store, backendPath: vbd.backendPath, device: new Ramdisk({ sizeSectors: 64 }), domains: () => domain });
    const front = await Blkfront.connect({ store, domain });
    expect(log).toEqual(['front:1', 'back:1', 'front:1', 'back:2', 'front:3', 'back:4', 'front:4']);
    const keys = memory.dump();
    expect(keys[`${vbd.frontendPath}/protocol`]).toBe('x86_64-abi');
    expect(keys[`${vbd.frontendPath}/ring-ref`]).toMatch(/^\d+$/);
    expect(keys[`${vbd.frontendPath}/event-channel`]).toMatch(/^\d+$/);
    expect(keys[`${vbd.backendPath}/sectors`]).toBe('64');
    expect(keys[`${vbd.backendPath}/sector-size`]).toBe('512');
    expect(keys[`${vbd.backendPath}/feature-max-indirect-segments`]).toBe('256');
    expect(keys[`${vbd.backendPath}/max-ring-page-order`]).toBe('4');
    expect(keys[`${vbd.backendPath}/feature-persistent`]).toBe('1');
    expect(keys[`${vbd.backendPath}/feature-flush-cache`]).toBe('1');
    expect(keys[`${vbd.backendPath}/feature-discard`]).toBe('1');
    expect(keys[`${vbd.backendPath}/info`]).toBe('0');
    expect(keys[`${vbd.backendPath}/hotplug-status`]).toBe('connected');
    log.length = 0;
    await front.disconnect();
    await until('backend Closed', () => log.includes('back:6'));
    expect(log).toEqual(['front:5', 'back:5', 'front:6', 'back:6']);
    // every grant and page went back: the ring frames and the pool
    expect(domain.frames.free).toBe(2048);
    await service.close();
  });

  it('serves the frontend again after it reconnects', async () => {
    const store = new MemoryXenbusStore();
    const domain = SharedDomain.create({ domid: 1, frames: 2048 });
    const vbd = await createVbd(store, { frontendDomid: 1, backendDomid: 0 });
    const disk = new Ramdisk({ sizeSectors: 64 });
    const service = serveBlkback({ store, backendPath: vbd.backendPath, device: disk, domains: () => domain });
    const first = await Blkfront.connect({ store, domain });
    await first.write(0, [pattern(0, 4, 512)]);
    await first.disconnect();
    const second = await Blkfront.connect({ store, domain });
    const out = new Uint8Array(2048);
    await second.read(0, [out]);
    expect(out).toEqual(pattern(0, 4, 512));
    await second.disconnect();
    await service.close();
  });

  it('the backend stops when the toolstack removes the device, and disconnects nothing it does not own', async () => {
    const store = new MemoryXenbusStore();
    const domain = SharedDomain.create({ domid: 1, frames: 2048 });
    const vbd = await createVbd(store, { frontendDomid: 1, backendDomid: 0 });
    const disk = new Ramdisk({ sizeSectors: 64 });
    const service = serveBlkback({ store, backendPath: vbd.backendPath, device: disk, domains: () => domain });
    const front = await Blkfront.connect({ store, domain });
    await front.disconnect();
    await removeVbd(store, vbd);
    await service.done;
    expect(store.dump()[`${vbd.backendPath}/state`]).toBeUndefined();
    await disk.getInfo();
  });

  it('a frontend that gets no backend fails with IO and gives back what it took', async () => {
    const store = new MemoryXenbusStore();
    const domain = SharedDomain.create({ domid: 1, frames: 64 });
    await createVbd(store, { frontendDomid: 1, backendDomid: 0 });
    await expectBlockError(Blkfront.connect({ store, domain, timeoutMs: 50 }), 'IO');
    expect(domain.frames.free).toBe(64);
    await expectBlockError(Blkfront.connect({ store, domain, devid: 5 }), 'IO');
  });

  it('refuses a frontend asking for the x86_32 layout, writes error, and serves it once it comes back right', async () => {
    const store = new MemoryXenbusStore();
    const domain = SharedDomain.create({ domid: 1, frames: 64 });
    const vbd = await createVbd(store, { frontendDomid: 1, backendDomid: 0 });
    const errors: string[] = [];
    const service = serveBlkback({
      store,
      backendPath: vbd.backendPath,
      device: new Ramdisk({ sizeSectors: 64 }),
      domains: () => domain,
      onError: (m) => errors.push(m),
    });
    const f = vbd.frontendPath;
    await waitState(store, vbd.backendPath, [XenbusState.InitWait]);
    const channel = domain.events.allocUnbound(0);
    const ref = domain.grants.allocateRef()!;
    domain.grants.grantAccess(ref, 0, 0, false);
    FrontRing.initialise({ buffer: domain.memory, byteOffset: 0, order: 0 });
    await store.transaction(async (h) => {
      await h.write(`${f}/ring-ref`, String(ref));
      await h.write(`${f}/event-channel`, String(channel.port));
      await h.write(`${f}/protocol`, 'x86_32-abi');
      await h.write(`${f}/state`, String(XenbusState.Initialised));
    });
    await waitState(store, vbd.backendPath, [XenbusState.Closing]);
    expect(store.dump()[`${vbd.backendPath}/error`]).toMatch(/x86_32/);
    expect(errors.join()).toMatch(/x86_32/);
    expect(domain.grants.mapCount(ref)).toBe(0);
    await store.immediate((h) => h.write(`${f}/state`, String(XenbusState.Closed)));
    await waitState(store, vbd.backendPath, [XenbusState.Closed]);
    await store.immediate((h) => h.write(`${f}/state`, String(XenbusState.Initialising)));
    await waitState(store, vbd.backendPath, [XenbusState.InitWait]);
    await store.transaction(async (h) => {
      await h.write(`${f}/protocol`, 'x86_64-abi');
      await h.write(`${f}/state`, String(XenbusState.Initialised));
    });
    await waitState(store, vbd.backendPath, [XenbusState.Connected]);
    await service.close();
  });
});

describe('peers that skip states, scripted with mirage-block-xen key sequences', () => {
  it("our Blkback serves mirage's frontend: keys and state 4 in one transaction, no Initialised, no wait for InitWait", async () => {
    const store = new MemoryXenbusStore();
    const domain = SharedDomain.create({ domid: 1, frames: 64 });
    const vbd = await createVbd(store, { frontendDomid: 1, backendDomid: 0 });
    const disk = new Ramdisk({ sizeSectors: 64 });
    await disk.write(0, [pattern(0, 8, 512)]);
    const f = vbd.frontendPath;
    // mirage's frontend reads backend-id, backend, max-ring-page-order (maybe absent yet) …
    const [backendId, backendPath] = await store.immediate(
      async (h) => [Number(await h.read(`${f}/backend-id`)), await h.read(`${f}/backend`)] as const,
    );
    const ringFrames = domain.frames.allocate(1, true)!;
    const ring = FrontRing.initialise({ buffer: domain.memory, byteOffset: ringFrames[0]! * 4096, order: 0 });
    const ringRef = domain.grants.allocateRef()!;
    domain.grants.grantAccess(ringRef, backendId, ringFrames[0]!, false);
    const channel = domain.events.allocUnbound(backendId);
    // … and writes everything plus state=4 at once, before the backend has even started.
    await store.transaction(async (h) => {
      await h.write(`${f}/event-channel`, String(channel.port));
      await h.write(`${f}/protocol`, 'x86_64-abi');
      await h.write(`${f}/ring-ref`, String(ringRef));
      await h.write(`${f}/state`, String(XenbusState.Connected));
    });
    const service = serveBlkback({ store, backendPath, device: disk, domains: () => domain });
    await waitState(store, backendPath, [XenbusState.Connected]);
    // mirage then reads the device keys and does I/O with request id = first gref
    const [frame] = domain.frames.allocate(1)!;
    const dataRef = domain.grants.allocateRef()!;
    domain.grants.grantAccess(dataRef, backendId, frame!, false);
    const at = ring.claimRequestSlot();
    writeRwHeader(ring.view, at, BlkifOp.READ, 1, 0, dataRef, 0);
    writeSegment(ring.view, at + 24, dataRef, 0, 7);
    if (ring.pushRequests()) channel.notify();
    await until('response', () => ring.pendingResponses() === 1);
    expect(decodeResponse(ring.view, ring.takeResponseSlot())).toMatchObject({ id: dataRef, status: BlkifStatus.OKAY });
    expect(domain.frame(frame!)).toEqual(pattern(0, 8, 512));
    // mirage's disconnect: Closing, Closed, Initialising, waiting for the backend each time
    await store.immediate((h) => h.write(`${f}/state`, String(XenbusState.Closing)));
    await waitState(store, backendPath, [XenbusState.Closing]);
    expect(domain.grants.mapCount(ringRef)).toBe(0);
    await store.immediate((h) => h.write(`${f}/state`, String(XenbusState.Closed)));
    await waitState(store, backendPath, [XenbusState.Closed]);
    await store.immediate((h) => h.write(`${f}/state`, String(XenbusState.Initialising)));
    await waitState(store, backendPath, [XenbusState.InitWait]);
    await service.close();
  });

  it("our Blkfront connects to mirage's backend: features written without InitWait, one-page ring only", async () => {
    const store = new MemoryXenbusStore();
    const domain = SharedDomain.create({ domid: 1, frames: 2048 });
    const vbd = await createVbd(store, { frontendDomid: 1, backendDomid: 0 });
    const disk = new Ramdisk({ sizeSectors: 128 });
    const b = vbd.backendPath;
    // mirage's backend: hotplug-status, sector-size, sectors, info, feature-max-indirect-segments;
    // it never writes InitWait, then waits for the frontend to be Initialised or Connected.
    await store.transaction(async (h) => {
      await h.write(`${b}/hotplug-status`, 'online');
      await h.write(`${b}/sector-size`, '512');
      await h.write(`${b}/sectors`, '128');
      await h.write(`${b}/info`, '0');
      await h.write(`${b}/feature-max-indirect-segments`, '256');
    });
    const backend = (async () => {
      await waitState(store, vbd.frontendPath, [XenbusState.Initialised, XenbusState.Connected]);
      const [ringRef, port, protocol] = await store.immediate(
        async (h) =>
          [
            Number(await h.read(`${vbd.frontendPath}/ring-ref`)),
            Number(await h.read(`${vbd.frontendPath}/event-channel`)),
            await h.read(`${vbd.frontendPath}/protocol`),
          ] as const,
      );
      expect(protocol).toBe('x86_64-abi');
      const blkback = Blkback.start({
        device: disk,
        info: await disk.getInfo(),
        frontend: domain,
        domid: 0,
        ringRefs: [ringRef],
        eventChannel: port,
        maxIndirectSegments: 256,
      });
      await store.immediate((h) => h.write(`${b}/state`, String(XenbusState.Connected)));
      return blkback;
    })();
    const front = await Blkfront.connect({ store, domain, ringPageOrder: 2 });
    const blkback = await backend;
    expect(front.negotiated).toMatchObject({ ringPageOrder: 0, indirect: true, persistent: false, flushCache: false, discard: false });
    expect(typeof front.flush).toBe('undefined');
    const data = pattern(3, 120, 512);
    await front.write(3, [data]);
    const out = new Uint8Array(data.length);
    await front.read(3, [out]);
    expect(out).toEqual(data);
    // mirage's backend exits on frontend state 6; emulate its teardown
    const closing = front.disconnect();
    await waitState(store, vbd.frontendPath, [XenbusState.Closing]);
    await blkback.close();
    await store.immediate((h) => h.write(`${b}/state`, String(XenbusState.Closed)));
    await closing;
    expect(store.dump()[`${vbd.frontendPath}/state`]).toBe('6');
  });
});
