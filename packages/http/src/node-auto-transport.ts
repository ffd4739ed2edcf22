import { isRedirect, NodeTransport, redirectTarget } from './node-transport.js';
import { SocketTransport } from './socket-transport.js';
import type { Transport, TransportRequest, TransportResponse } from './transport.js';

/**
 * Node's default: http: URLs over the device's own sockets (SocketTransport), https: URLs and
 * redirects through node:http/node:https (NodeTransport, which follows them).
 */
export class NodeAutoTransport implements Transport {
  readonly name = 'node';
  readonly #sockets: SocketTransport;
  readonly #node: NodeTransport;

  constructor(options: { maxSockets: number; lingerMs: number }) {
    this.#sockets = new SocketTransport(options);
    this.#node = new NodeTransport(options);
  }

  get connectionsOpened(): number {
    return this.#sockets.connectionsOpened + this.#node.connectionsOpened;
  }

  request(method: 'GET' | 'HEAD', url: string, headers: Readonly<Record<string, string>>): TransportRequest {
    if (!url.startsWith('http:')) return this.#node.request(method, url, headers);
    let current = this.#sockets.request(method, url, headers);
    let aborted = false;
    const response = current.response.then((first): TransportResponse | Promise<TransportResponse> => {
      const location = first.headers.get('location');
      if (!isRedirect(first.status) || location === null) return first;
      first.release();
      const next = redirectTarget(url, location, headers);
      current = this.#node.request(method, next.url, next.headers);
      if (aborted) current.abort();
      return current.response;
    });
    return {
      response,
      abort: () => {
        aborted = true;
        current.abort();
      },
    };
  }

  close(): void {
    this.#sockets.close();
    this.#node.close();
  }
}
