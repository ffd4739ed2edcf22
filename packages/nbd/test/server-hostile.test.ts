// Hostile clients against the server's resource accounting: a handshake that never reads its
// replies, one peer hoarding connection slots, connections left idle after the handshake.
import { Ramdisk } from '@blk/ramdisk';
import { waitFor } from '@blk/test-kit';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FLAG_C_FIXED_NEWSTYLE, FLAG_C_NO_ZEROES, Option, Reply } from '../src/constants.js';
import { encodeOption } from '../src/option-codec.js';
import { createServer, type NbdServer } from '../src/index.js';
import { useServers } from './helpers/server-fixture.js';

const { serve, client } = useServers('hostile');

const flags = () => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES);
  return b;
};

/** Connects to `path` and sends the client flags and `count` copies of `option`, never reading. */
async function floodOptions(path: string, option: Buffer, count: number): Promise<net.Socket> {
  const socket = net.connect({ path });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.pause();
  socket.write(flags());
  socket.write(Buffer.concat(Array.from({ length: count }, () => option)));
  return socket;
}

describe('the handshake stops reading options while its replies are not taken (finding 4)', () => {
  it('NBD_OPT_LIST sent 3,000 times, nothing read: at most the limit plus one LIST answer is queued', async () => {
    const exports: Record<string, { device: Ramdisk; description: string }> = {};
    for (let i = 0; i < 8; i++) exports[`disk-${i}`] = { device: new Ramdisk({ sizeSectors: 8 }), description: 'd'.repeat(4000) };
    const { path, server } = await serve({ exports });
    const attacker = await floodOptions(path, encodeOption(Option.LIST), 3000);
    // Unbounded this is 3,000 × ~32 KiB ≈ 96 MiB of replies.
    await waitFor(() => server.stats().handshakeStalls > 0, 'the handshake to stop reading');
    const oneList = 8 * (20 + 4 + 'disk-0'.length + 4000) + 20;
    expect(server.stats().peakHandshakeQueuedBytes).toBeLessThanOrEqual(64 * 1024 + oneList);
    // Meanwhile an honest client negotiates normally.
    const honest = await client(path);
    await honest.greet();
    expect((await honest.option(Option.LIST)).at(-1)!.type).toBe(Reply.ACK);
    // Reading takes the backlog; the server goes on answering, still within the bound.
    let got = 0;
    attacker.on('data', (chunk: Buffer) => (got += chunk.length));
    attacker.resume();
    await waitFor(() => got > 10 * oneList, 'the attacker to get more replies after reading');
    expect(server.stats().peakHandshakeQueuedBytes).toBeLessThanOrEqual(64 * 1024 + oneList);
    attacker.destroy();
  });

  it('with TLS required, 20,000 plaintext options each answered ERR_TLS_REQD stay within the limit too', async () => {
    const { path, server } = await serve({
      exports: { '': new Ramdisk({ sizeSectors: 64 }) },
      tls: { mode: 'require', psk: { alice: Buffer.alloc(32, 1) } },
    });
    const attacker = await floodOptions(path, encodeOption(Option.LIST), 20_000);
    await waitFor(() => server.stats().handshakeStalls > 0, 'the handshake to stop reading');
    expect(server.stats().peakHandshakeQueuedBytes).toBeLessThanOrEqual(64 * 1024 + 200);
    attacker.destroy();
  });
});

describe('connection slots (finding 6)', () => {
  let server: NbdServer | undefined;
  const sockets: net.Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await server?.close();
    server = undefined;
  });

  async function tcp(port: number, localAddress: string): Promise<{ socket: net.Socket; greeted: Promise<boolean> }> {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    sockets.push(socket);
    socket.on('error', () => undefined);
    const greeted = new Promise<boolean>((resolve) => {
      socket.once('data', () => resolve(true));
      socket.once('close', () => resolve(false));
    });
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    return { socket, greeted };
  }

  it('one TCP peer holding its share of silent sockets is refused more; another peer still gets in', async () => {
    const errors: Error[] = [];
    server = createServer({
      exports: { '': new Ramdisk({ sizeSectors: 64 }) },
      limits: { maxConnectionsPerPeer: 3 },
      onError: (e) => errors.push(e),
    });
    const address = await server.listen({ host: '127.0.0.1', port: 0 });
    const port = 'port' in address ? address.port : 0;
    const held = [];
    for (let i = 0; i < 3; i++) held.push(await tcp(port, '127.0.0.1'));
    for (const h of held) expect(await h.greeted).toBe(true);
    const extra = await tcp(port, '127.0.0.1');
    expect(await extra.greeted).toBe(false);
    const other = await tcp(port, '127.0.0.2');
    expect(await other.greeted).toBe(true);
    expect(server.stats()).toMatchObject({ connections: 4, refusedConnections: 1 });
    expect(errors.some((e) => e.message.includes('maxConnectionsPerPeer'))).toBe(true);
    // A slot held by the peer frees when it closes.
    held[0]!.socket.destroy();
    await waitFor(() => server!.connections === 3, 'the slot to be freed');
    expect(await (await tcp(port, '127.0.0.1')).greeted).toBe(true);
  });

  it('a connection idle after the handshake is closed after idleTimeoutMs', async () => {
    const { path, server: s, errors } = await serve({ exports: { '': new Ramdisk({ sizeSectors: 64 }) }, limits: { idleTimeoutMs: 200 } });
    const c = await client(path);
    await c.open('');
    expect(await c.closedWithin(5000)).toBe(true);
    expect(s.stats().idleClosed).toBe(1);
    expect(errors.some((e) => e.message.includes('idleTimeoutMs'))).toBe(true);
  });
});
