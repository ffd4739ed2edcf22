import * as net from 'node:net';

export interface Tap {
  /** Every byte the clients sent, in order. */
  toServer(): Buffer;
  /** Every byte the server sent back. */
  toClient(): Buffer;
  close(): Promise<void>;
}

/**
 * A Unix-socket proxy on `path` that forwards each connection to `target` and keeps a copy of
 * what crosses the wire each way: what an eavesdropper on the socket would see.
 */
export async function tapProxy(path: string, target: string): Promise<Tap> {
  const up: Buffer[] = [];
  const down: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
  };
  const server = net.createServer((client) => {
    const upstream = net.connect({ path: target });
    track(client);
    track(upstream);
    client.on('data', (chunk: Buffer) => up.push(Buffer.from(chunk)));
    upstream.on('data', (chunk: Buffer) => down.push(Buffer.from(chunk)));
    client.pipe(upstream);
    upstream.pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, resolve);
  });
  return {
    toServer: () => Buffer.concat(up),
    toClient: () => Buffer.concat(down),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
