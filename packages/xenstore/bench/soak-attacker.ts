/** The socket attackers of `pnpm soak` (dom0 clients in their own process), on the socket given as argv[2]. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { answerRequests } from '@blk/test-kit';
import { connect, encodeFrame, MessageType as T } from '../src/index.js';

const path = process.argv[2]!;
let running = false;
let loop: Promise<void> = Promise.resolve();

/** Writes the path the slow watcher watches, 64 requests in flight. */
async function dom0Writer(): Promise<void> {
  const c = await connect({ path });
  let i = 0;
  while (running) await c.immediate((x) => Promise.all(Array.from({ length: 64 }, () => x.write('/local/domain/6/hot', String(i++)))));
  await c.close();
}

/** Creates and removes 500 nodes again and again (beside the guest's idle transactions). */
async function dom0Churn(): Promise<void> {
  const c = await connect({ path });
  let round = 0;
  while (running) {
    const base = `/churn/${round++}`;
    await c.immediate((x) => Promise.all(Array.from({ length: 500 }, (_, i) => x.write(`${base}/${i}`, 'v'))));
    await c.immediate((x) => x.rm(base));
  }
  await c.close();
}

const attacks: Record<string, () => Promise<void>> = {
  'slow-watcher': dom0Writer,
  /** The slow watcher's dom0 writer alone: what the busy writer costs without any slow watcher. */
  'dom0-writer': dom0Writer,
  'idle-tx': dom0Churn,
  /** The idle transactions' churn alone. */
  'dom0-churn': dom0Churn,
  /** A process that only burns CPU: the machine's own share-out, with no request to the server. */
  'cpu-hog': async () => {
    const hog: ChildProcess = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
    while (running) await new Promise((r) => setTimeout(r, 20));
    hog.kill();
  },
  /** Transactions that rewrite one node 20,000 times each, committed one after another. */
  'tx-rewrite': async () => {
    const c = await connect({ path });
    while (running) {
      await c.transaction((x) => Promise.all(Array.from({ length: 20_000 }, (_, i) => x.write('/txr/n', String(i)))));
    }
    await c.close();
  },
  /** A socket client that asks for a 4000-byte value over and over and never reads the replies. */
  'unread-replies': async () => {
    const c = await connect({ path });
    await c.immediate((x) => x.write('/big', 'x'.repeat(4000)));
    await c.close();
    const socket = createConnection({ path });
    socket.pause();
    const batch = Buffer.concat(
      Array.from({ length: 100 }, () => encodeFrame({ type: T.READ, reqId: 1, txId: 0, payload: new TextEncoder().encode('/big\0') })),
    );
    while (running && !socket.destroyed) {
      if (!socket.write(batch)) await new Promise((r) => setTimeout(r, 50));
    }
    socket.destroy();
  },
};

answerRequests(async (message) => {
  if (typeof message.start === 'string' && attacks[message.start]) {
    running = true;
    loop = attacks[message.start]!().catch((error: unknown) => {
      console.error(`attacker ${String(message.start)} failed: ${(error as Error).message}`);
    });
  }
  if (message.stop) {
    running = false;
    await loop;
  }
  return {};
});
process.send?.({ ready: true });
