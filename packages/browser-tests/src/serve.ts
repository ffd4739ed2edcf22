import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A loopback HTTP server for a fixed set of pages; stop() closes it and its connections. */
export interface PageServer {
  readonly origin: string;
  stop(): Promise<void>;
}

const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8' };

export async function servePages(pages: ReadonlyMap<string, string>): Promise<PageServer> {
  const server: Server = createServer((request, response) => {
    const body = pages.get(new URL(request.url ?? '/', 'http://localhost').pathname);
    if (body === undefined) {
      response.writeHead(404).end();
      return;
    }
    const extension = /\.(\w+)$/.exec(request.url ?? '')?.[1] ?? 'html';
    response.writeHead(200, { 'content-type': TYPES[extension] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
