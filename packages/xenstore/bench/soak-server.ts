/**
 * The server side of `pnpm soak`: a xenstored on the socket given as argv[2], a probe for the
 * parent (worst event-loop stall, peak RSS) and the attackers that must act as guest domains,
 * which only an in-process connection can (`connectAs`).
 */
import type { Duplex } from 'node:stream';
import { answerRequests, startServerProbe } from '@blk/test-kit';
import { connect, createServer, encodeFrame, MessageType as T, nulTerminated } from '../src/index.js';

const server = createServer({ log: () => undefined });
await server.listen(process.argv[2]!);
startServerProbe();
// A clean exit on SIGTERM, so that `--cpu-prof` can write the profile.
process.on('SIGTERM', () => process.exit(0));

const frame = (type: number, payload: Uint8Array | string, reqId = 1, txId = 0): Uint8Array =>
  encodeFrame({ type, reqId, txId, payload: typeof payload === 'string' ? new TextEncoder().encode(payload) : payload });

/** Writes `next()` batches as fast as the server takes them, never reading a reply. */
async function flood(stream: Duplex, next: () => Uint8Array, running: () => boolean): Promise<void> {
  while (running() && !stream.destroyed) {
    if (!stream.write(next())) {
      await new Promise<void>((resolve) => {
        const done = () => {
          stream.off('drain', done);
          stream.off('close', done);
          resolve();
        };
        stream.on('drain', done);
        stream.on('close', done);
        // Re-check now and then so that stopping does not wait for a drain that never comes.
        setTimeout(done, 200).unref();
      });
    }
  }
}

/** Gives `domid` its home, and `extra` nodes below it (path → permissions) the guest owns. */
function home(domid: number, extra: Record<string, string> = {}): void {
  server.introduce(domid);
  const dom0 = server.connectAs(0);
  dom0.write(frame(T.MKDIR, `/local/domain/${domid}\0`));
  dom0.write(frame(T.SET_PERMS, `/local/domain/${domid}\0n${domid}\0`));
  for (const [path, perms] of Object.entries(extra)) {
    dom0.write(frame(T.MKDIR, `${path}\0`));
    dom0.write(frame(T.SET_PERMS, `${path}\0${perms.split(' ').join('\0')}\0`));
  }
  setTimeout(() => dom0.destroy(), 100);
}

/** A guest that reads its replies but asks as fast as the server takes requests: only the rate limit holds it. */
function greedyGuest(domid: number, path: string): () => void {
  const stream = server.connectAs(domid);
  stream.resume();
  let running = true;
  const batch = Buffer.concat(Array.from({ length: 100 }, (_, i) => frame(T.WRITE, `${path}\0${i}`)));
  setTimeout(() => {
    void flood(
      stream,
      () => batch,
      () => running,
    );
  }, 150);
  return () => {
    running = false;
    stream.destroy();
  };
}

let stop: (() => void) | undefined;

const attacks: Record<string, () => void> = {
  /** A guest with 128 long-token watches on its home writes there and never reads. */
  'watch-flood': () => {
    home(5);
    const stream = server.connectAs(5);
    const token = 't'.repeat(200);
    const watches: Uint8Array[] = [];
    for (let i = 0; i < 128; i++) watches.push(frame(T.WATCH, nulTerminated('/local/domain/5', `${token}${i}`)));
    let running = true;
    setTimeout(() => {
      stream.write(Buffer.concat(watches));
      const batch = Buffer.concat(Array.from({ length: 100 }, (_, i) => frame(T.WRITE, `/local/domain/5/x${i % 10}\0v`)));
      void flood(
        stream,
        () => batch,
        () => running,
      );
    }, 150);
    stop = () => {
      running = false;
      stream.destroy();
    };
  },
  /** A guest watches a path dom0 writes constantly (the attacker process), and never reads. */
  'slow-watcher': () => {
    home(6);
    const stream = server.connectAs(6);
    setTimeout(() => stream.write(frame(T.WATCH, nulTerminated('/local/domain/6/hot', 'w'))), 150);
    stop = () => stream.destroy();
  },
  /** A guest asking for writes to its own home as fast as it can, reading every reply. */
  'guest-flood': () => {
    home(8);
    stop = greedyGuest(8, '/local/domain/8/x');
  },
  /** The slow watcher again, fed by a second guest (its writes are rate-limited, dom0's are not). */
  'guest-slow-watcher': () => {
    home(10);
    home(11, { '/local/domain/11/hot': 'n11 r10' });
    const watcher = server.connectAs(10);
    setTimeout(() => watcher.write(frame(T.WATCH, nulTerminated('/local/domain/11/hot', 'w'))), 150);
    const stopWriter = greedyGuest(11, '/local/domain/11/hot');
    stop = () => {
      stopWriter();
      watcher.destroy();
    };
  },
  /** tx-rewrite as a guest: transactions of 1000 rewrites of one node (its quota counts repeats: 1024). */
  'guest-tx-rewrite': () => {
    home(12);
    const state = { running: true };
    void (async () => {
      await new Promise((r) => setTimeout(r, 150));
      const c = await connect({ stream: server.connectAs(12) });
      while (state.running) {
        await c
          .transaction((x) => Promise.all(Array.from({ length: 1000 }, (_, i) => x.write('/local/domain/12/n', String(i)))))
          .catch(() => undefined);
      }
      await c.close();
    })();
    stop = () => {
      state.running = false;
    };
  },
  /** Ten transactions left open by a guest while the attacker process churns nodes. */
  'idle-tx': () => {
    home(7);
    const stream = server.connectAs(7);
    setTimeout(() => {
      for (let i = 0; i < 10; i++) stream.write(frame(T.TRANSACTION_START, '\0', i + 1));
    }, 150);
    stop = () => stream.destroy();
  },
};

answerRequests(async (message) => {
  if (typeof message.start === 'string') attacks[message.start]?.();
  if (message.stop) {
    stop?.();
    stop = undefined;
  }
  return { stats: { ...server.stats(), retainedPreimages: server.retainedPreimages } };
});
process.send?.({ ready: true });
