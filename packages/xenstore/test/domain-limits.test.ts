import type { Duplex } from 'node:stream';
import { waitFor } from '@blk/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, HEADER_SIZE, MessageType as T, PAYLOAD_MAX, type Client, type Frame } from '../src/index.js';
import { resolveLimits } from '../src/server/limits.js';
import { startHarness, type Harness } from './helpers/harness.js';

/** What may be queued past a limit: the answer under way when it was reached (WATCH: ack plus initial event). */
const SLACK = 2 * (HEADER_SIZE + PAYLOAD_MAX);

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const frame = (type: number, payload: string, reqId: number): Uint8Array =>
  encodeFrame({ type, reqId, txId: 0, payload: new TextEncoder().encode(payload) });

/** Collects the frames a stream receives (reading it, so it never pushes back). */
function collect(stream: Duplex): Frame[] {
  const decoder = new FrameDecoder();
  const frames: Frame[] = [];
  stream.on('data', (chunk: Uint8Array) => frames.push(...decoder.push(chunk).frames));
  return frames;
}

async function guestHome(dom0: Client, domid: number): Promise<void> {
  await dom0.immediate(async (x) => {
    await x.mkdir(`/local/domain/${domid}`);
    await x.setperms(`/local/domain/${domid}`, [`n${domid}`]);
  });
}

describe('per-domain request rate', () => {
  it('a guest gets its burst answered at once, the rest when credit comes back; dom0 is never held', async () => {
    let now = 0;
    const burst = 20;
    const rate = 1000;
    const logs: string[] = [];
    h = await startHarness({
      listen: false,
      clock: () => now,
      limits: { domainRequestRate: rate, domainRequestBurst: burst },
      log: (m) => logs.push(m),
    });
    const dom0 = await h.client(0);
    await guestHome(dom0, 5);
    const guest = h.server.connectAs(5);
    const got = collect(guest);
    const n = burst + 10;
    guest.write(Buffer.concat(Array.from({ length: n }, (_, i) => frame(T.GET_DOMAIN_PATH, '5\0', i + 1))));
    await waitFor(() => got.length === burst, 'the burst to be answered');
    // The clock stands still, so no credit comes back however long this takes: dom0 is served meanwhile.
    await dom0.immediate((x) => Promise.all(Array.from({ length: 200 }, (_, i) => x.write(`/dom0/${i}`, 'v'))));
    expect(got.length).toBe(burst);
    expect(h.server.stats().rateLimited).toBe(1);
    expect(h.server.domainUsage(5)).toMatchObject({ connections: 1, requests: burst, credit: 0 });
    expect(h.server.domainUsage(0)).toBeUndefined();
    // Time for exactly the 10 held requests.
    now += (10 * 1000) / rate;
    await waitFor(() => got.length === n, 'the held requests');
    expect(got.map((f) => f.reqId)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(h.server.domainUsage(5)).toMatchObject({ requests: n, credit: 0 });
    expect(h.server.stats().rateLimited).toBe(1);
    expect(logs.filter((l) => l.includes('domain 5 is over its request rate (1000/s, burst 20)'))).toHaveLength(1);
  });

  it('credit never exceeds the burst however long the guest was quiet', async () => {
    let now = 0;
    h = await startHarness({ listen: false, clock: () => now, limits: { domainRequestRate: 100, domainRequestBurst: 7 } });
    const guest = h.server.connectAs(9);
    const got = collect(guest);
    now += 3_600_000;
    guest.write(Buffer.concat(Array.from({ length: 12 }, (_, i) => frame(T.GET_DOMAIN_PATH, '9\0', i + 1))));
    await waitFor(() => got.length === 7, 'the burst');
    await (await h.client(0)).immediate((x) => x.read('/tool'));
    expect(got.length).toBe(7);
    expect(h.server.domainUsage(9)?.requests).toBe(7);
  });
});

describe('privileged connections', () => {
  it('are exempt by default: a dom0 connection gets 2000 requests answered at once with the clock standing still', async () => {
    h = await startHarness({ listen: false, clock: () => 0 });
    expect(h.server.limits.privilegedRequestRate).toBe(Infinity);
    const dom0 = h.server.connectAs(0);
    const got = collect(dom0);
    dom0.write(Buffer.concat(Array.from({ length: 2000 }, (_, i) => frame(T.GET_DOMAIN_PATH, '5\0', i + 1))));
    await waitFor(() => got.length === 2000, 'every reply');
    expect(h.server.stats().rateLimited).toBe(0);
  });

  it('privilegedRequestRate gives each privileged connection its own bucket: one is held, another is not', async () => {
    let now = 0;
    const logs: string[] = [];
    h = await startHarness({
      listen: false,
      clock: () => now,
      limits: { privilegedRequestRate: 1000, domainRequestBurst: 10 },
      log: (m) => logs.push(m),
    });
    const busy = h.server.connectAs(0);
    const got = collect(busy);
    busy.write(Buffer.concat(Array.from({ length: 15 }, (_, i) => frame(T.GET_DOMAIN_PATH, '5\0', i + 1))));
    await waitFor(() => got.length === 10, 'the burst');
    const other = await h.client(0);
    await other.immediate((x) => Promise.all(Array.from({ length: 5 }, () => x.read('/tool'))));
    expect(got.length).toBe(10);
    expect(h.server.stats().rateLimited).toBe(1);
    expect(logs.filter((l) => /connection \d+ \(domain 0\) is over its request rate \(1000\/s, burst 10\)/.test(l))).toHaveLength(1);
    now += 5;
    await waitFor(() => got.length === 15, 'the held requests');
    expect(() => resolveLimits({ privilegedRequestRate: Infinity })).not.toThrow();
    expect(() => resolveLimits({ domainRequestRate: Infinity })).toThrow(RangeError);
  });
});

describe('per-domain connections', () => {
  it('one connection past domainConnections is closed at once, counted and logged; dom0 has no such limit', async () => {
    const logs: string[] = [];
    h = await startHarness({ listen: false, limits: { domainConnections: 3 }, log: (m) => logs.push(m) });
    const guests = [h.server.connectAs(5), h.server.connectAs(5), h.server.connectAs(5)];
    const extra = h.server.connectAs(5);
    expect(extra.destroyed).toBe(true);
    expect(h.server.stats().refusedConnections).toBe(1);
    expect(h.server.domainUsage(5)?.connections).toBe(3);
    expect(logs.filter((l) => l.includes('domain 5 already has 3 connections'))).toHaveLength(1);
    // Another domain and dom0 are not affected.
    const others = [h.server.connectAs(6), ...Array.from({ length: 10 }, () => h!.server.connectAs(0))];
    expect(others.every((s) => !s.destroyed)).toBe(true);
    // One closed, one more fits.
    guests[0]!.destroy();
    await waitFor(() => h!.server.domainUsage(5)?.connections === 2, 'the closed connection to go');
    expect(h.server.connectAs(5).destroyed).toBe(false);
    expect(h.server.stats().refusedConnections).toBe(1);
    // Released, the domain starts again from nothing.
    h.server.release(5);
    expect(h.server.domainUsage(5)).toBeUndefined();
  });
});

describe('per-domain queued bytes', () => {
  it('four non-reading connections of one guest together hold at most domainOutputBytes; all replies come once they read', async () => {
    const limit = 64 * 1024;
    h = await startHarness({
      listen: false,
      limits: { outputBytes: 1024 * 1024, domainOutputBytes: limit, domainRequestRate: 1e9, domainRequestBurst: 1e9 },
    });
    const dom0 = await h.client(0);
    await guestHome(dom0, 5);
    await dom0.immediate((x) => x.write('/local/domain/5/big', 'x'.repeat(4000)));
    // A fifth connection watches the node dom0 will write once the domain's queue is full.
    const watcher = h.server.connectAs(5);
    watcher.write(frame(T.WATCH, '/local/domain/5/hot\0w\0', 1));
    await waitFor(() => h!.server.stats().watches === 1, 'the watch');
    const streams = Array.from({ length: 4 }, () => h!.server.connectAs(5));
    const perStream = 100;
    for (const s of streams) {
      s.write(Buffer.concat(Array.from({ length: perStream }, (_, i) => frame(T.READ, '/local/domain/5/big\0', i + 1))));
    }
    // Unbounded this would be 4 × 100 × 4016 bytes, about 1.6 MB; each connection alone is far under its 1 MiB.
    await waitFor(() => h!.server.stats().domainOutputStalls === 1, 'the domain to be held');
    expect(h.server.domainUsage(5)!.queuedBytes).toBeLessThanOrEqual(limit + SLACK);
    expect(h.server.stats().peakQueuedBytes).toBeLessThanOrEqual(limit + SLACK);
    expect(h.server.domainUsage(5)!.requests).toBeLessThan(4 * perStream);
    // Watch events for the domain are dropped meanwhile (its queue is full).
    await dom0.immediate((x) => x.write('/local/domain/5/hot', 'again'));
    expect(h.server.stats().droppedWatchEvents).toBeGreaterThan(0);
    expect(h.server.domainUsage(5)!.queuedBytes).toBeLessThanOrEqual(limit + SLACK);
    // Reading brings every reply, in order, on every connection.
    const got = streams.map(collect);
    await waitFor(() => got.every((f) => f.length === perStream), 'every reply');
    for (const f of got) expect(f.map((x) => x.reqId)).toEqual(Array.from({ length: perStream }, (_, i) => i + 1));
    expect(h.server.stats().domainOutputStalls).toBeGreaterThanOrEqual(1);
  });
});

describe('limit validation', () => {
  it('refuses a domainOutputBytes below 64 KiB and non-integers', () => {
    expect(() => resolveLimits({ domainOutputBytes: 1000 })).toThrow(/domainOutputBytes must be at least/);
    expect(() => resolveLimits({ domainRequestRate: 0.5 })).toThrow(RangeError);
    expect(() => resolveLimits({ domainConnections: 0 })).toThrow(RangeError);
  });
});
