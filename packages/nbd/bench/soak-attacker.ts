/** The attackers of `pnpm soak`, in their own process: argv = Unix socket, TLS-required socket, TCP port. */
import * as net from 'node:net';
import { answerRequests } from '@blk/test-kit';
import { FLAG_C_FIXED_NEWSTYLE, FLAG_C_NO_ZEROES, Option } from '../src/constants.js';
import { encodeOption } from '../src/option-codec.js';

const [path, securePath, portText] = process.argv.slice(2) as [string, string, string];
const port = Number(portText);
let running = false;
/** Read through a call: `running` changes from the message handler while the loops await. */
const active = (): boolean => running;
let loop: Promise<void> = Promise.resolve();
const sockets = new Set<net.Socket>();

function open(options: net.NetConnectOpts): Promise<net.Socket | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect(options);
    socket.on('error', () => resolve(undefined));
    socket.once('close', () => sockets.delete(socket));
    socket.once('connect', () => {
      sockets.add(socket);
      resolve(socket);
    });
  });
}

const flags = Buffer.alloc(4);
flags.writeUInt32BE(FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES);
const lists = Buffer.concat(Array.from({ length: 1000 }, () => encodeOption(Option.LIST)));

/** Sends NBD_OPT_LIST over and over, never reading; reconnects when dropped (handshake deadline). */
async function listFlood(target: string): Promise<void> {
  while (active()) {
    const socket = await open({ path: target });
    if (!socket) continue;
    socket.pause();
    socket.write(flags);
    while (active() && !socket.destroyed) {
      if (!socket.write(lists)) await new Promise((r) => setTimeout(r, 50));
    }
    socket.destroy();
  }
}

/** Opens as many TCP connections from 127.0.0.1 as it can and keeps them silent. */
async function slotHog(): Promise<void> {
  while (active()) {
    if (sockets.size < 200) {
      const socket = await open({ host: '127.0.0.1', port, localAddress: '127.0.0.1' });
      socket?.resume();
    } else await new Promise((r) => setTimeout(r, 20));
  }
}

const attacks: Record<string, () => Promise<void>> = {
  'list-flood': () => listFlood(path),
  'tls-required-flood': () => listFlood(securePath),
  'slot-hog': slotHog,
};

answerRequests(async (message) => {
  if (typeof message.start === 'string' && attacks[message.start]) {
    running = true;
    loop = attacks[message.start]!();
  }
  if (message.stop) {
    running = false;
    await loop;
    for (const s of sockets) s.destroy();
  }
  return { open: sockets.size };
});
process.send?.({ ready: true });
