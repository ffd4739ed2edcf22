import { BlockError, type BlockDevice } from '@blk/core';
import { pattern, withFaults, wrapDevice, type DeviceOperation } from '@blk/conformance';
import { Ramdisk } from '@blk/ramdisk';
import { waitFor } from '@blk/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { BlkifOp, BlkifStatus, writeDiscard, writeIndirectHeader, writeRwHeader, writeSegment, type BlkifResponse } from '../src/index.js';
import { BACK_DOMID, RawFrontend, type RawFrontendOptions } from './helpers/raw-frontend.js';

/** Records which device operations the backend performed. */
function recording(device: BlockDevice): { device: BlockDevice; calls: DeviceOperation[] } {
  const calls: DeviceOperation[] = [];
  return {
    device: wrapDevice(device, (op, _args, call) => {
      calls.push(op);
      return call();
    }),
    calls,
  };
}

const opened: RawFrontend[] = [];
async function start(options: RawFrontendOptions): Promise<RawFrontend> {
  const front = await RawFrontend.start(options);
  opened.push(front);
  return front;
}
afterEach(async () => {
  for (const front of opened.splice(0)) await front.backend.close({ timeoutMs: 2000 });
});

interface Segment {
  readonly gref: number;
  readonly first?: number;
  readonly last?: number;
}

function rw(op: number, id: number, sector: number, segments: readonly Segment[], nrSegments = segments.length) {
  return (view: DataView, at: number) => {
    writeRwHeader(view, at, op, nrSegments, 0, id, sector, 0xdeadbeef);
    segments.forEach((s, i) => {
      writeSegment(view, at + 24 + 8 * i, s.gref, s.first ?? 0, s.last ?? 7);
    });
  };
}

async function one(front: RawFrontend, fill: (view: DataView, at: number) => void): Promise<BlkifResponse> {
  front.send(fill);
  const [response] = await front.responses(1);
  return response!;
}

describe('Blkback serves valid requests', () => {
  it('writes and reads through granted pages, echoing the 64-bit id and the operation', async () => {
    const disk = new Ramdisk({ sizeSectors: 64 });
    const front = await start({ device: disk });
    const a = front.frame();
    const b = front.frame();
    a.bytes.set(pattern(0, 8, 512));
    b.bytes.set(pattern(8, 8, 512));
    const ra = front.grant(a.frame, true);
    const rb = front.grant(b.frame, true);
    const response = await one(front, rw(BlkifOp.WRITE, 77, 4, [{ gref: ra }, { gref: rb, first: 0, last: 3 }]));
    expect(response).toEqual({ id: 77, idHigh: 0xdeadbeef, operation: BlkifOp.WRITE, status: BlkifStatus.OKAY });
    const stored = new Uint8Array(12 * 512);
    await disk.read(4, [stored]);
    expect(stored.subarray(0, 4096)).toEqual(a.bytes);
    expect(stored.subarray(4096)).toEqual(b.bytes.subarray(0, 2048));

    const c = front.frame();
    const rc = front.grant(c.frame, false);
    expect((await one(front, rw(BlkifOp.READ, 78, 6, [{ gref: rc, first: 2, last: 5 }]))).status).toBe(BlkifStatus.OKAY);
    expect(c.bytes.subarray(1024, 3072)).toEqual(stored.subarray(1024, 3072));
    expect(c.bytes.subarray(0, 1024).every((x) => x === 0)).toBe(true);
  });

  it('serves indirect requests and answers them with the inner operation', async () => {
    const disk = new Ramdisk({ sizeSectors: 2048 });
    const front = await start({ device: disk, maxIndirectSegments: 64, frames: 128 });
    const pages = Array.from({ length: 20 }, () => front.frame());
    const refs = pages.map((p, i) => {
      p.bytes.set(pattern(i * 8, 8, 512));
      return front.grant(p.frame, true);
    });
    const indirect = front.frame();
    const indirectRef = front.grant(indirect.frame, true);
    const descriptors = new DataView(indirect.bytes.buffer, indirect.bytes.byteOffset, 4096);
    refs.forEach((ref, i) => {
      writeSegment(descriptors, i * 8, ref, 0, 7);
    });
    const response = await one(front, (view, at) => {
      writeIndirectHeader(view, at, BlkifOp.WRITE, 20, 0, 5, 16, [indirectRef]);
    });
    expect(response).toMatchObject({ id: 5, operation: BlkifOp.WRITE, status: BlkifStatus.OKAY });
    const stored = new Uint8Array(20 * 4096);
    await disk.read(16, [stored]);
    pages.forEach((p, i) => {
      expect(stored.subarray(i * 4096, (i + 1) * 4096)).toEqual(p.bytes);
    });
  });

  it('flush and discard reach the device when it has them', async () => {
    const { device, calls } = recording(new Ramdisk({ sizeSectors: 64 }));
    const front = await start({ device });
    expect((await one(front, rw(BlkifOp.FLUSH_DISKCACHE, 1, 0, []))).status).toBe(BlkifStatus.OKAY);
    expect(
      (
        await one(front, (view, at) => {
          writeDiscard(view, at, 0, 0, 2, 8, 8);
        })
      ).status,
    ).toBe(BlkifStatus.OKAY);
    expect(calls.filter((op) => op !== 'getInfo')).toEqual(['flush', 'discard']);
  });

  it('a 4096-byte-sector device gets whole sectors even from half-page segments (bounce buffer)', async () => {
    const disk = new Ramdisk({ sizeSectors: 16, sectorSize: 4096 });
    const front = await start({ device: disk });
    const a = front.frame();
    const b = front.frame();
    a.bytes.set(pattern(0, 8, 512));
    b.bytes.set(pattern(8, 8, 512));
    const refs = [front.grant(a.frame, false), front.grant(b.frame, false)];
    // second half of page a + first half of page b = one 4096-byte sector
    const write = rw(BlkifOp.WRITE, 1, 8, [
      { gref: refs[0]!, first: 4, last: 7 },
      { gref: refs[1]!, first: 0, last: 3 },
    ]);
    expect((await one(front, write)).status).toBe(BlkifStatus.OKAY);
    const sector = new Uint8Array(4096);
    await disk.read(1, [sector]);
    expect(sector.subarray(0, 2048)).toEqual(a.bytes.subarray(2048));
    expect(sector.subarray(2048)).toEqual(b.bytes.subarray(0, 2048));
    a.bytes.fill(0);
    b.bytes.fill(0);
    const read = rw(BlkifOp.READ, 2, 8, [
      { gref: refs[1]!, first: 4, last: 7 },
      { gref: refs[0]!, first: 0, last: 3 },
    ]);
    expect((await one(front, read)).status).toBe(BlkifStatus.OKAY);
    expect(b.bytes.subarray(2048)).toEqual(sector.subarray(0, 2048));
    expect(a.bytes.subarray(0, 2048)).toEqual(sector.subarray(2048));
  });

  it('unmaps temporary grants before answering, so the frontend can end access at once', async () => {
    const front = await start({ device: new Ramdisk({ sizeSectors: 64 }) });
    const page = front.frame();
    const ref = front.grant(page.frame, false);
    await one(front, rw(BlkifOp.READ, 1, 0, [{ gref: ref }]));
    expect(front.domain.grants.mapCount(ref)).toBe(0);
    expect(front.domain.grants.endAccess(ref)).toBe(true);
  });

  it('with persistent grants keeps mappings until close, then lets them all go', async () => {
    const front = await start({ device: new Ramdisk({ sizeSectors: 64 }), persistent: true });
    const page = front.frame();
    const ref = front.grant(page.frame, false);
    await one(front, rw(BlkifOp.READ, 1, 0, [{ gref: ref }]));
    await one(front, rw(BlkifOp.WRITE, 2, 0, [{ gref: ref }]));
    expect(front.domain.grants.mapCount(ref)).toBe(1);
    expect(front.domain.grants.endAccess(ref)).toBe(false);
    await front.backend.close();
    expect(front.domain.grants.mapCount(ref)).toBe(0);
    for (const r of front.ringRefs) expect(front.domain.grants.mapCount(r)).toBe(0);
  });

  it('a barrier waits for earlier requests, then writes and flushes before later ones start', async () => {
    const order: string[] = [];
    const slow = wrapDevice(new Ramdisk({ sizeSectors: 64 }), async (op, args, call) => {
      if (op === 'getInfo') return call();
      order.push(`${op}:start:${String(args[0])}`);
      if (op === 'write' && args[0] === 0) await new Promise((r) => setTimeout(r, 30));
      const result = await call();
      order.push(`${op}:end:${String(args[0])}`);
      return result;
    });
    const front = await start({ device: slow });
    const page = front.frame();
    const ref = front.grant(page.frame, true);
    front.send(rw(BlkifOp.WRITE, 1, 0, [{ gref: ref }]));
    front.send(rw(BlkifOp.WRITE_BARRIER, 2, 8, [{ gref: ref }]));
    front.send(rw(BlkifOp.READ, 3, 16, [{ gref: front.grant(front.frame().frame, false) }]));
    const responses = await front.responses(3);
    expect(responses.map((r) => r.status)).toEqual([0, 0, 0]);
    expect(responses.map((r) => r.id)).toEqual([1, 2, 3]);
    expect(order).toEqual([
      'write:start:0',
      'write:end:0',
      'write:start:8',
      'write:end:8',
      'flush:start:undefined',
      'flush:end:undefined',
      'read:start:16',
      'read:end:16',
    ]);
  });
});

describe('Blkback refuses bad requests with ERROR or EOPNOTSUPP and never touches the device', () => {
  interface Case {
    readonly name: string;
    readonly status: number;
    readonly options?: Partial<RawFrontendOptions>;
    readonly sectorSize?: number;
    readonly request: (front: RawFrontend, id: number) => (view: DataView, at: number) => void;
  }
  const goodRef = (front: RawFrontend, readonly = false) => front.grant(front.frame().frame, readonly);
  const cases: Case[] = [
    { name: 'read with no segments', status: BlkifStatus.ERROR, request: (f, id) => rw(BlkifOp.READ, id, 0, []) },
    { name: 'write with no segments', status: BlkifStatus.ERROR, request: (f, id) => rw(BlkifOp.WRITE, id, 0, []) },
    {
      name: '12 direct segments',
      status: BlkifStatus.ERROR,
      request: (f, id) => rw(BlkifOp.READ, id, 0, [{ gref: goodRef(f) }], 12),
    },
    {
      name: '255 direct segments',
      status: BlkifStatus.ERROR,
      request: (f, id) => rw(BlkifOp.READ, id, 0, [{ gref: goodRef(f) }], 255),
    },
    {
      name: 'first_sect > last_sect',
      status: BlkifStatus.ERROR,
      request: (f, id) => rw(BlkifOp.READ, id, 0, [{ gref: goodRef(f), first: 5, last: 4 }]),
    },
    {
      name: 'last_sect 8',
      status: BlkifStatus.ERROR,
      request: (f, id) => rw(BlkifOp.READ, id, 0, [{ gref: goodRef(f), first: 0, last: 8 }]),
    },
    {
      name: 'last_sect 255',
      status: BlkifStatus.ERROR,
      request: (f, id) => rw(BlkifOp.WRITE, id, 0, [{ gref: goodRef(f, true), first: 200, last: 255 }]),
    },
    { name: 'grant reference 0', status: BlkifStatus.ERROR, request: (_f, id) => rw(BlkifOp.READ, id, 0, [{ gref: 0 }]) },
    {
      name: 'grant reference past the table',
      status: BlkifStatus.ERROR,
      request: (_f, id) => rw(BlkifOp.READ, id, 0, [{ gref: 0xffffffff }]),
    },
    {
      name: 'a reference never granted',
      status: BlkifStatus.ERROR,
      request: (f, id) => rw(BlkifOp.READ, id, 0, [{ gref: f.domain.grants.allocateRef()! }]),
    },
    {
      name: 'a grant made out to another domain',
      status: BlkifStatus.ERROR,
      request: (f, id) => rw(BlkifOp.WRITE, id, 0, [{ gref: f.grant(f.frame().frame, true, BACK_DOMID + 5) }]),
    },
    {
      name: 'a read into a read-only grant',
      status: BlkifStatus.ERROR,
      request: (f, id) => rw(BlkifOp.READ, id, 0, [{ gref: goodRef(f, true) }]),
    },
    {
      name: 'a good segment then a bad grant',
      status: BlkifStatus.ERROR,
      request: (f, id) => rw(BlkifOp.WRITE, id, 0, [{ gref: goodRef(f, true) }, { gref: 3 }]),
    },
    {
      name: 'a read running past the end',
      status: BlkifStatus.ERROR,
      request: (f, id) => rw(BlkifOp.READ, id, 63, [{ gref: goodRef(f), first: 0, last: 1 }]),
    },
    {
      name: 'a write starting past the end',
      status: BlkifStatus.ERROR,
      request: (f, id) => rw(BlkifOp.WRITE, id, 64, [{ gref: goodRef(f, true), first: 0, last: 0 }]),
    },
    {
      name: 'sector 2^64 − 1',
      status: BlkifStatus.ERROR,
      request: (f, id) => (view, at) => {
        rw(BlkifOp.READ, id, 0, [{ gref: goodRef(f), first: 0, last: 0 }])(view, at);
        view.setUint32(at + 16, 0xffffffff, true);
        view.setUint32(at + 20, 0xffffffff, true);
      },
    },
    {
      name: 'sector 2^53 (not exactly representable neighbours)',
      status: BlkifStatus.ERROR,
      request: (f, id) => rw(BlkifOp.READ, id, 2 ** 53, [{ gref: goodRef(f), first: 0, last: 0 }]),
    },
    {
      name: 'a 512-byte segment on a 4096-byte-sector device',
      status: BlkifStatus.ERROR,
      sectorSize: 4096,
      request: (f, id) => rw(BlkifOp.READ, id, 0, [{ gref: goodRef(f), first: 0, last: 0 }]),
    },
    {
      name: 'a sector off the 4096-byte grid',
      status: BlkifStatus.ERROR,
      sectorSize: 4096,
      request: (f, id) => rw(BlkifOp.READ, id, 1, [{ gref: goodRef(f) }]),
    },
    {
      name: 'a write to a read-only device',
      status: BlkifStatus.ERROR,
      options: { readOnly: true },
      request: (f, id) => rw(BlkifOp.WRITE, id, 0, [{ gref: goodRef(f, true) }]),
    },
    {
      name: 'a discard on a read-only device',
      status: BlkifStatus.ERROR,
      options: { readOnly: true },
      request: (_f, id) => (view, at) => {
        writeDiscard(view, at, 0, 0, id, 0, 8);
      },
    },
    { name: 'the reserved operation 4', status: BlkifStatus.EOPNOTSUPP, request: (_f, id) => rw(4, id, 0, []) },
    { name: 'operation 7', status: BlkifStatus.EOPNOTSUPP, request: (_f, id) => rw(7, id, 0, []) },
    { name: 'operation 255', status: BlkifStatus.EOPNOTSUPP, request: (_f, id) => rw(255, id, 0, []) },
    {
      name: 'a secure discard',
      status: BlkifStatus.EOPNOTSUPP,
      request: (_f, id) => (view, at) => {
        writeDiscard(view, at, 1, 0, id, 0, 8);
      },
    },
    {
      name: 'a discard past the end',
      status: BlkifStatus.ERROR,
      request: (_f, id) => (view, at) => {
        writeDiscard(view, at, 0, 0, id, 60, 8);
      },
    },
    {
      name: 'an indirect request when none were offered',
      status: BlkifStatus.EOPNOTSUPP,
      request: (f, id) => (view, at) => {
        writeIndirectHeader(view, at, BlkifOp.READ, 1, 0, id, 0, [goodRef(f, true)]);
      },
    },
    {
      name: 'an indirect flush',
      status: BlkifStatus.ERROR,
      options: { maxIndirectSegments: 32 },
      request: (f, id) => (view, at) => {
        writeIndirectHeader(view, at, BlkifOp.FLUSH_DISKCACHE, 1, 0, id, 0, [goodRef(f, true)]);
      },
    },
    {
      name: 'an indirect request with 0 segments',
      status: BlkifStatus.ERROR,
      options: { maxIndirectSegments: 32 },
      request: (f, id) => (view, at) => {
        writeIndirectHeader(view, at, BlkifOp.READ, 0, 0, id, 0, [goodRef(f, true)]);
      },
    },
    {
      name: 'more indirect segments than offered',
      status: BlkifStatus.ERROR,
      options: { maxIndirectSegments: 32 },
      request: (f, id) => (view, at) => {
        writeIndirectHeader(view, at, BlkifOp.READ, 33, 0, id, 0, [goodRef(f, true)]);
      },
    },
    {
      name: 'an indirect page that is not granted',
      status: BlkifStatus.ERROR,
      options: { maxIndirectSegments: 32 },
      request: (_f, id) => (view, at) => {
        writeIndirectHeader(view, at, BlkifOp.READ, 4, 0, id, 0, [12345]);
      },
    },
    {
      name: 'an indirect descriptor naming an ungranted page',
      status: BlkifStatus.ERROR,
      options: { maxIndirectSegments: 32 },
      request: (f, id) => (view, at) => {
        const page = f.frame();
        writeSegment(new DataView(page.bytes.buffer, page.bytes.byteOffset, 4096), 0, 9999, 0, 7);
        writeIndirectHeader(view, at, BlkifOp.WRITE, 1, 0, id, 0, [f.grant(page.frame, true)]);
      },
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const { device, calls } = recording(
        withFaults(new Ramdisk({ sizeSectors: c.sectorSize === 4096 ? 8 : 64, sectorSize: c.sectorSize ?? 512 }), () => false),
      );
      const front = await start({ device, ...c.options });
      const id = front.nextId();
      const response = await one(front, c.request(front, id));
      expect(response.id).toBe(id);
      expect(response.status, front.backend.stats.lastError).toBe(c.status);
      expect(calls.filter((op) => op !== 'getInfo')).toEqual([]);
      // every mapping taken while checking was given back
      for (let ref = 8; ref < front.domain.grants.entries; ref++) {
        if (!front.ringRefs.includes(ref)) expect(front.domain.grants.mapCount(ref), `ref ${ref}`).toBe(0);
      }
      // and the backend still serves a good request afterwards
      const page = front.frame();
      const ok = await one(front, rw(BlkifOp.READ, 999, 0, [{ gref: front.grant(page.frame, false) }]));
      expect(ok).toMatchObject({ id: 999, status: BlkifStatus.OKAY });
    });
  }

  it('flush and barrier are EOPNOTSUPP for a device that cannot flush, discard for one that cannot discard', async () => {
    const bare = new Ramdisk({ sizeSectors: 64 });
    const device: BlockDevice = {
      supports: { ...bare.supports, flush: false, discard: false, discardZeroes: false },
      getInfo: () => bare.getInfo(),
      read: (s, b) => bare.read(s, b),
      write: (s, b) => bare.write(s, b),
      disconnect: () => bare.disconnect(),
    };
    const front = await start({ device });
    expect((await one(front, rw(BlkifOp.FLUSH_DISKCACHE, 1, 0, []))).status).toBe(BlkifStatus.EOPNOTSUPP);
    expect((await one(front, rw(BlkifOp.WRITE_BARRIER, 2, 0, []))).status).toBe(BlkifStatus.EOPNOTSUPP);
    const discard = await one(front, (view, at) => {
      writeDiscard(view, at, 0, 0, 3, 0, 8);
    });
    expect(discard).toMatchObject({ id: 3, operation: BlkifOp.DISCARD, status: BlkifStatus.EOPNOTSUPP });
  });
});

describe('Blkback under device faults', () => {
  it('answers ERROR for requests the device fails, keeps serving, and never answers twice', async () => {
    const disk = new Ramdisk({ sizeSectors: 64 });
    const faulty = withFaults(disk, ({ op, index }) => op !== 'getInfo' && index % 3 === 1);
    const front = await start({ device: faulty });
    const page = front.frame();
    const ref = front.grant(page.frame, false);
    for (let i = 0; i < 12; i++) front.send(rw(i % 2 === 0 ? BlkifOp.READ : BlkifOp.WRITE, 100 + i, i, [{ gref: ref, first: 0, last: 0 }]));
    const responses = await front.responses(12);
    expect(responses.map((r) => r.id).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => 100 + i));
    const failed = responses.filter((r) => r.status === BlkifStatus.ERROR).length;
    expect(failed).toBe(4);
    expect(responses.every((r) => r.status === BlkifStatus.OKAY || r.status === BlkifStatus.ERROR)).toBe(true);
    expect(front.ring.pendingResponses()).toBe(0);
    expect(front.domain.grants.mapCount(ref)).toBe(0);
  });

  it('answers ERROR when the device throws synchronously or rejects with a non-BlockError', async () => {
    const disk = new Ramdisk({ sizeSectors: 64 });
    let calls = 0;
    const weird = wrapDevice(disk, (op, _args, call) => {
      if (op === 'read') {
        calls++;
        if (calls === 1) throw new TypeError('sync throw');
        if (calls === 2) return Promise.reject(new Error('plain error'));
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        if (calls === 3) return Promise.reject('a string');
      }
      return call();
    });
    const front = await start({ device: weird });
    const ref = front.grant(front.frame().frame, false);
    for (let i = 0; i < 4; i++) front.send(rw(BlkifOp.READ, i, 0, [{ gref: ref }]));
    const responses = await front.responses(4);
    expect(responses.map((r) => r.status).sort()).toEqual([-1, -1, -1, 0]);
    expect(front.backend.stats.errors).toBe(3);
  });

  it('answers ERROR when the device throws or rejects with a value whose String() throws', async () => {
    const disk = new Ramdisk({ sizeSectors: 64 });
    const hostile = { toString: [] };
    let calls = 0;
    const weird = wrapDevice(disk, (op, _args, call) => {
      if (op === 'read') {
        calls++;
        // eslint-disable-next-line @typescript-eslint/only-throw-error
        if (calls === 1) throw hostile;
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        if (calls === 2) return Promise.reject(hostile);
      }
      return call();
    });
    const front = await start({ device: weird });
    const ref = front.grant(front.frame().frame, false);
    for (let i = 0; i < 3; i++) front.send(rw(BlkifOp.READ, i, 0, [{ gref: ref }]));
    const responses = await front.responses(3);
    expect(responses.map((r) => r.status).sort()).toEqual([-1, -1, 0]);
    expect(front.backend.stats.errors).toBe(2);
    expect(front.domain.grants.mapCount(ref)).toBe(0);
  });

  it('close waits for the request in flight and drops nothing', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const disk = new Ramdisk({ sizeSectors: 64 });
    const slow = wrapDevice(disk, async (op, _args, call) => {
      if (op === 'write') await held;
      return call();
    });
    const front = await start({ device: slow });
    const ref = front.grant(front.frame().frame, true);
    front.send(rw(BlkifOp.WRITE, 1, 0, [{ gref: ref }]));
    await waitFor(() => front.domain.grants.mapCount(ref) === 1, 'the write to reach the device');
    const closing = front.backend.close();
    let closed = false;
    void closing.then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(closed).toBe(false);
    expect(front.domain.grants.mapCount(ref)).toBe(1);
    release();
    await closing;
    expect((await front.responses(1))[0]).toMatchObject({ id: 1, status: BlkifStatus.OKAY });
    expect(front.domain.grants.mapCount(ref)).toBe(0);
    // after close nothing is served
    front.send(rw(BlkifOp.READ, 2, 0, [{ gref: front.grant(front.frame().frame, false) }]));
    await new Promise((r) => setTimeout(r, 20));
    expect(front.ring.pendingResponses()).toBe(0);
  });

  it('close gives up on a device that never answers, leaving its pages mapped', async () => {
    const disk = new Ramdisk({ sizeSectors: 64 });
    const stuck = wrapDevice(disk, (op, _args, call) => (op === 'read' ? new Promise(() => undefined) : call()));
    const front = await start({ device: stuck });
    const ref = front.grant(front.frame().frame, false);
    front.send(rw(BlkifOp.READ, 1, 0, [{ gref: ref }]));
    await waitFor(() => front.domain.grants.mapCount(ref) === 1, 'the read to reach the device');
    await front.backend.close({ timeoutMs: 50 });
    expect(front.domain.grants.mapCount(ref)).toBe(1);
    expect(front.domain.grants.endAccess(ref)).toBe(false);
  });

  it('close keeps its deadline when the serve loop itself waits on a request that never settles', async () => {
    const disk = new Ramdisk({ sizeSectors: 64 });
    const stuck = wrapDevice(disk, (op, _args, call) => (op === 'write' ? new Promise(() => undefined) : call()));
    const front = await start({ device: stuck });
    const ref = front.grant(front.frame().frame, true);
    // The write never settles; the barrier behind it waits for it, so the serve loop is parked.
    front.send(rw(BlkifOp.WRITE, 1, 0, [{ gref: ref }]));
    front.send(rw(BlkifOp.WRITE_BARRIER, 2, 8, []));
    await waitFor(() => front.backend.inflight === 2, 'the write and the barrier to be in flight');
    await front.backend.close({ timeoutMs: 50 });
    expect(front.backend.inflight).toBe(2);
    expect(front.domain.grants.mapCount(ref)).toBe(1);
  });

  it('a device rejecting with a BlockError gets ERROR, and no unhandled rejection', async () => {
    const disk = new Ramdisk({ sizeSectors: 64 });
    const failing = withFaults(
      disk,
      ({ op }) => op === 'write',
      () => new BlockError('IO', 'boom'),
    );
    const front = await start({ device: failing });
    front.send(rw(BlkifOp.WRITE, 1, 0, [{ gref: front.grant(front.frame().frame, true) }]));
    expect((await front.responses(1))[0]!.status).toBe(BlkifStatus.ERROR);
  });
});
