import { renameSync, readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { waitFor } from '@blk/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import {
  encodeFrame,
  FrameDecoder,
  HEADER_SIZE,
  MessageType as T,
  nulTerminated,
  PAYLOAD_MAX,
  type Client,
  type Frame,
} from '../src/index.js';
import { duplexPair } from '../src/server/duplex-pair.js';
import { DEFAULT_LIMITS } from '../src/server/limits.js';
import { DEFAULT_QUOTAS } from '../src/server/quotas.js';
import { Store } from '../src/server/store.js';
import { Transaction } from '../src/server/transaction.js';
import { code, startHarness, type Harness } from './helpers/harness.js';

/** A reply may go past the limit by one answer: WATCH's ack plus its initial event, each at most one full frame. */
const SLACK = 2 * (HEADER_SIZE + PAYLOAD_MAX);
const OUTPUT = 64 * 1024;

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const frame = (type: number, payload: Uint8Array | string, reqId = 1, txId = 0): Uint8Array =>
  encodeFrame({ type, reqId, txId, payload: typeof payload === 'string' ? new TextEncoder().encode(payload) : payload });

/** Starts reading a stream that was left unread; resolves the frames once `until` holds. */
function readAll(stream: Duplex, until: (frames: Frame[]) => boolean): Promise<Frame[]> {
  const decoder = new FrameDecoder();
  const frames: Frame[] = [];
  return new Promise((resolve) => {
    stream.on('data', (chunk: Uint8Array) => {
      frames.push(...decoder.push(chunk).frames);
      if (until(frames)) resolve(frames);
    });
  });
}

async function guestHome(dom0: Client, domid: number): Promise<void> {
  await dom0.immediate(async (x) => {
    await x.mkdir(`/local/domain/${domid}`);
    await x.setperms(`/local/domain/${domid}`, [`n${domid}`]);
  });
}

describe('finding 1: output queued for a client is bounded', () => {
  it('a guest with 128 long-token watches on its home writing there without reading: queue stays at the limit, events dropped, no reply lost', async () => {
    const logs: string[] = [];
    h = await startHarness({ listen: false, limits: { outputBytes: OUTPUT }, log: (m) => logs.push(m) });
    const dom0 = await h.client(0);
    await guestHome(dom0, 5);
    const attacker = h.server.connectAs(5);
    const token = 't'.repeat(200);
    const watches: Uint8Array[] = [];
    for (let i = 0; i < DEFAULT_QUOTAS.watches; i++)
      watches.push(frame(T.WATCH, nulTerminated('/local/domain/5', `${token}${i}`), 1000 + i));
    attacker.write(Buffer.concat(watches));
    const writes = 1000;
    for (let i = 0; i < writes; i += 200) {
      const batch: Uint8Array[] = [];
      for (let j = i; j < i + 200; j++) batch.push(frame(T.WRITE, `/local/domain/5/x${j % 10}\0v`, j + 1));
      attacker.write(Buffer.concat(batch));
    }
    // Unbounded, this would queue 1,000 × 128 events of ~230 bytes (about 28 MiB).
    await waitFor(() => h!.server.stats().droppedWatchEvents > 0 && attacker.writableLength > 0, 'the server to stop reading the attacker');
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    const stats = h.server.stats();
    expect(stats.peakQueuedBytes).toBeGreaterThan(OUTPUT / 2);
    expect(stats.peakQueuedBytes).toBeLessThanOrEqual(OUTPUT + SLACK);
    expect(logs.some((l) => l.includes('dropping watch events'))).toBe(true);
    // dom0 is still served meanwhile.
    await dom0.immediate((x) => x.write('/elsewhere', 'fine'));
    // Once the attacker reads, every reply comes, in order, then one catch-up event per watch.
    const got = await readAll(attacker, (f) => f.filter((x) => x.type === T.WRITE).length === writes);
    const replies = got.filter((x) => x.type !== T.WATCH_EVENT);
    expect(replies.map((x) => x.reqId)).toEqual(
      [...watches.keys()].map((i) => 1000 + i).concat([...Array(writes).keys()].map((i) => i + 1)),
    );
    expect(h.server.stats().peakQueuedBytes).toBeLessThanOrEqual(OUTPUT + SLACK);
    await waitFor(() => logs.some((l) => l.includes('reads again')), 'the catch-up events');
  });

  it('dom0 writing 5,000 times to a path a non-reading domain watches, over three connections: each queue bounded, dom0 unaffected', async () => {
    h = await startHarness({ listen: false, limits: { outputBytes: OUTPUT } });
    const dom0 = await h.client(0);
    await guestHome(dom0, 7);
    await dom0.immediate((x) => x.write('/local/domain/7/hot', '0'));
    const sleepers = [h.server.connectAs(7), h.server.connectAs(7), h.server.connectAs(7)];
    sleepers.forEach((s, i) => s.write(frame(T.WATCH, nulTerminated('/local/domain/7/hot', `w${i}`), 1)));
    await waitFor(() => h!.server.stats().watches === 3, 'the watches');
    const n = 5000;
    await dom0.immediate(async (x) => {
      const all: Promise<void>[] = [];
      for (let i = 0; i < n; i++) all.push(x.write('/local/domain/7/hot', String(i)));
      await Promise.all(all);
    });
    await waitFor(() => h!.server.stats().droppedWatchEvents > 0, 'events to be dropped');
    const stats = h.server.stats();
    expect(stats.peakQueuedBytes).toBeLessThanOrEqual(OUTPUT + SLACK);
    expect(stats.queuedBytes).toBeLessThanOrEqual(3 * (OUTPUT + SLACK));
    // About 40 bytes per event: 3 × 5,000 would be ~600 KB; most were dropped.
    expect(stats.droppedWatchEvents).toBeGreaterThan(3 * n - (3 * (OUTPUT + SLACK)) / 30);
    // A sleeper that wakes up gets what fit, then the watch path once more: it re-reads and is current.
    const got = await readAll(
      sleepers[0]!,
      (f) =>
        f.filter((x) => x.type === T.WATCH_EVENT).length >= 2 &&
        f.some((x) => x.type === T.WATCH_EVENT && new TextDecoder().decode(x.payload).startsWith('/local/domain/7/hot\0w0')) &&
        f.length > 100,
    );
    expect(got.length).toBeGreaterThan(100);
    await waitFor(() => h!.server.stats().queuedBytes <= 2 * (OUTPUT + SLACK), 'the woken sleeper to be drained');
  });

  it('the in-process pair reports backpressure: write returns false, writableLength grows, drain fires once read', async () => {
    const [a, b] = duplexPair(1024);
    let accepted = true;
    for (let i = 0; i < 10 && accepted; i++) accepted = a.write(Buffer.alloc(600));
    expect(accepted).toBe(false);
    await new Promise((r) => setImmediate(r));
    // b holds at most its high-water mark plus one chunk; the rest waits on a's side.
    expect(b.readableLength).toBeLessThanOrEqual(1024 + 600);
    expect(a.writableLength).toBeGreaterThan(0);
    const drained = new Promise((r) => a.once('drain', r));
    b.resume();
    await drained;
    expect(a.writableLength).toBe(0);
    a.destroy();
  });
});

describe('finding 2: transactions cost the same per request however long they run', () => {
  it('80,000 rewrites of one node keep one merged event with at most two permission lists', () => {
    const store = Store.seeded();
    const dom0 = { domid: 0, privileged: true, target: undefined };
    const tx = new Transaction(1, store, dom0, DEFAULT_QUOTAS, DEFAULT_LIMITS);
    const perms = [{ domid: 0, access: 'n' as const }];
    for (let i = 0; i < 80_000; i++)
      tx.queue([{ path: '/a', exact: false, perms: [i % 2 === 0 ? perms : [{ domid: 0, access: 'r' as const }]] }]);
    const events = tx.commit(dom0, DEFAULT_QUOTAS);
    expect(events).toHaveLength(1);
    expect(events[0]!.perms.length).toBeLessThanOrEqual(2);
  });

  it("repeated writes count against an unprivileged transaction's node quota", async () => {
    h = await startHarness({ listen: false, quotas: { transactionNodes: 30 } });
    const dom0 = await h.client(0);
    await guestHome(dom0, 5);
    const guest = await h.client(5);
    let done = 0;
    const result = await code(
      guest.transaction(async (x) => {
        for (let i = 0; i < 100; i++) {
          await x.write('same', String(i));
          done++;
        }
      }),
    );
    expect(result).toBe('ENOSPC');
    // Touches: /local/domain/5/same, its parent (read on creation); the rest are repeats.
    expect(done).toBeLessThan(30);
    expect(done).toBeGreaterThan(20);
  });

  it('dom0 (exempt from quotas) rewrites one node 20,000 times in one transaction and commits once', async () => {
    h = await startHarness({ listen: false });
    const dom0 = await h.client(0);
    const events: string[] = [];
    const watcher = await h.client(0);
    watcher.onWatch((e) => events.push(e.path));
    await watcher.immediate((x) => x.watch('/big', 'w'));
    await dom0.transaction(async (x) => {
      const all: Promise<void>[] = [];
      for (let i = 0; i < 20_000; i++) all.push(x.write('/big/n', String(i)));
      await Promise.all(all);
    });
    expect(await dom0.immediate((x) => x.read('/big/n'))).toBe('19999');
    await waitFor(() => events.includes('/big/n'), 'the commit event');
  });
});

describe('one deep pipeline does not hold the event loop', () => {
  it('a client sending 2,000 requests in one write takes turns: another client is answered after at most a few dozen of them', async () => {
    h = await startHarness({ listen: false });
    const flood = h.server.connectAs(0);
    const polite = h.server.connectAs(0);
    let floodReplies = 0;
    let floodRepliesWhenPoliteAnswered = -1;
    const floodDecoder = new FrameDecoder();
    flood.on('data', (chunk: Uint8Array) => (floodReplies += floodDecoder.push(chunk).frames.length));
    const answered = new Promise<void>((resolve) => {
      polite.on('data', () => {
        floodRepliesWhenPoliteAnswered = floodReplies;
        resolve();
      });
    });
    flood.write(Buffer.concat(Array.from({ length: 2000 }, (_, i) => frame(T.READ, '/tool\0', i + 1))));
    polite.write(frame(T.READ, '/tool\0'));
    await answered;
    await waitFor(() => floodReplies === 2000, 'every flood reply');
    expect(floodRepliesWhenPoliteAnswered).toBeGreaterThanOrEqual(0);
    expect(floodRepliesWhenPoliteAnswered).toBeLessThanOrEqual(64);
  });
});

describe('finding 3: open transactions cannot retain the world', () => {
  it('ten idle transactions while 20,000 nodes are created and removed elsewhere keep at most the snapshot limit each, then get EAGAIN', async () => {
    const logs: string[] = [];
    h = await startHarness({ listen: false, limits: { transactionSnapshotNodes: 500 }, log: (m) => logs.push(m) });
    const dom0 = await h.client(0);
    const idle = h.raw(0);
    const ids: number[] = [];
    for (let i = 0; i < 10; i++) {
      const reply = await idle.call(T.TRANSACTION_START, '\0', { reqId: i + 1 });
      ids.push(Number(new TextDecoder().decode(reply.payload).replace('\0', '')));
    }
    let peak = 0;
    for (let round = 0; round < 20; round++) {
      await dom0.immediate(async (x) => {
        const all: Promise<void>[] = [];
        for (let i = 0; i < 500; i++) all.push(x.write(`/churn/${round}/${i}`, 'v'));
        await Promise.all(all);
      });
      await dom0.immediate((x) => x.rm(`/churn/${round}`));
      peak = Math.max(peak, h.server.retainedPreimages);
    }
    expect(peak).toBeLessThanOrEqual(10 * 500);
    expect(h.server.retainedPreimages).toBe(0);
    for (const id of ids) {
      const read = await idle.call(T.READ, '/tool\0', { txId: id });
      expect(read.type).toBe(T.ERROR);
      expect(new TextDecoder().decode(read.payload)).toBe('EAGAIN\0');
      const end = await idle.call(T.TRANSACTION_END, 'T\0', { txId: id });
      expect(new TextDecoder().decode(end.payload)).toBe('EAGAIN\0');
    }
    expect(logs.filter((l) => l.includes('changes elsewhere'))).toHaveLength(10);
  });

  it('a transaction open longer than the timeout is ended with EAGAIN and releases its snapshot', async () => {
    const logs: string[] = [];
    h = await startHarness({ listen: false, limits: { transactionTimeoutMs: 50 }, log: (m) => logs.push(m) });
    const idle = h.raw(0);
    const reply = await idle.call(T.TRANSACTION_START, '\0');
    const id = Number(new TextDecoder().decode(reply.payload).replace('\0', ''));
    await waitFor(() => logs.some((l) => l.includes('open longer than 50 ms')), 'the transaction to time out');
    const end = await idle.call(T.TRANSACTION_END, 'T\0', { txId: id });
    expect(new TextDecoder().decode(end.payload)).toBe('EAGAIN\0');
    expect(h.server.retainedPreimages).toBe(0);
  });

  it('the transaction quota counts every connection of a domain', async () => {
    h = await startHarness({ listen: false, quotas: { transactions: 2 } });
    const dom0 = await h.client(0);
    await guestHome(dom0, 5);
    const a = h.raw(5);
    const b = h.raw(5);
    expect((await a.call(T.TRANSACTION_START, '\0')).type).toBe(T.TRANSACTION_START);
    expect((await b.call(T.TRANSACTION_START, '\0')).type).toBe(T.TRANSACTION_START);
    const third = await a.call(T.TRANSACTION_START, '\0');
    expect(new TextDecoder().decode(third.payload)).toBe('ENOSPC\0');
  });
});

describe('finding 5: a failing disk never makes replies hang', () => {
  it('changes get EIO while saving fails, reads are answered, a line is logged, and it recovers once saving works', async () => {
    const logs: string[] = [];
    const { makeTempDir } = await import('@blk/test-kit');
    const dir = makeTempDir('blk-xs-fail-');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(`${dir.path}/state`);
    const file = `${dir.path}/state/tree.json`;
    h = await startHarness({ listen: false, persist: file, log: (m) => logs.push(m) });
    const c = await h.client(0);
    await c.immediate((x) => x.write('/before', '1'));
    renameSync(`${dir.path}/state`, `${dir.path}/gone`);
    // This write is applied in memory, but its save fails: its acknowledgement becomes EIO.
    expect(await code(c.immediate((x) => x.write('/during', '2')))).toBe('EIO');
    expect(logs.some((l) => l.includes('failed') && l.includes('EIO'))).toBe(true);
    expect(await code(c.immediate((x) => x.write('/refused', '3')))).toBe('EIO');
    expect(await code(c.transaction((x) => x.write('/tx', '4')))).toBe('EIO');
    expect(await c.immediate((x) => x.read('/before'))).toBe('1');
    renameSync(`${dir.path}/gone`, `${dir.path}/state`);
    await waitFor(() => logs.some((l) => l.includes('works again')), 'the retry to succeed');
    await c.immediate((x) => x.write('/after', '5'));
    const saved = readFileSync(file, 'utf8');
    expect(saved).toContain('"/after"');
    expect(saved).toContain('"/during"');
    expect(saved).not.toContain('"/refused"');
    await h.close();
    h = undefined;
    dir.remove();
  });
});
