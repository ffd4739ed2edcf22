// Node-only: reached from the package's "node" export (src/node.ts), never from the browser entry.
/* eslint-disable no-restricted-imports -- node:http and node:https are this file's reason to be */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
/* eslint-enable no-restricted-imports */
import { asError, type HeaderReader, type Transport, type TransportRequest, type TransportResponse } from './transport.js';

/** Redirects followed before a request fails, as fetch does. */
export const MAX_REDIRECTS = 20;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Headers not carried to another origin by a redirect (fetch drops Authorization too). */
const CREDENTIALS = ['authorization', 'cookie', 'proxy-authorization'];

export function isRedirect(status: number): boolean {
  return REDIRECTS.has(status);
}

/** Where a redirect from `from` to `location` goes, and the headers to send there (no credentials to another origin). */
export function redirectTarget(
  from: string | URL,
  location: string,
  headers: Readonly<Record<string, string>>,
): { url: string; headers: Readonly<Record<string, string>> } {
  const next = new URL(location, from);
  if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new Error(`a redirect to a ${next.protocol} URL`);
  const sameOrigin = next.origin === new URL(from).origin;
  return {
    url: next.href,
    headers: sameOrigin
      ? headers
      : Object.fromEntries(Object.entries(headers).filter(([name]) => !CREDENTIALS.includes(name.toLowerCase()))),
  };
}

class NodeHeaders implements HeaderReader {
  readonly #headers: IncomingMessage['headers'];

  constructor(headers: IncomingMessage['headers']) {
    this.#headers = headers;
  }

  get(name: string): string | null {
    const value = this.#headers[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }
}

class NodeResponse implements TransportResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: NodeHeaders;
  readonly #message: IncomingMessage;
  readonly #lingerMs: number;
  #ended = false;
  #released = false;

  constructor(message: IncomingMessage, lingerMs: number) {
    this.#message = message;
    this.#lingerMs = lingerMs;
    this.status = message.statusCode ?? 0;
    this.statusText = message.statusMessage ?? '';
    this.headers = new NodeHeaders(message.headers);
    message.once('end', () => (this.#ended = true));
    // Errors also reach consume(); this keeps one that comes with nobody listening from crashing.
    message.on('error', () => undefined);
  }

  consume(onChunk: (chunk: Uint8Array) => boolean): Promise<void> {
    const message = this.#message;
    if (this.#ended) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const finish = (error?: unknown) => {
        message.off('data', onData);
        message.off('end', onEnd);
        message.off('error', onError);
        message.off('close', onClose);
        message.pause();
        if (error === undefined) resolve();
        else reject(asError(error));
      };
      const onData = (chunk: Buffer) => {
        let more: boolean;
        try {
          more = onChunk(chunk);
        } catch (error) {
          finish(error);
          return;
        }
        if (!more) finish();
      };
      const onEnd = () => finish();
      const onError = (error: Error) => finish(error);
      const onClose = () => {
        if (!message.complete) finish(new Error('the connection closed before the end of the response'));
      };
      message.on('data', onData);
      message.once('end', onEnd);
      message.once('error', onError);
      message.once('close', onClose);
      message.resume();
    });
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    const message = this.#message;
    if (this.#ended) return;
    if (!message.complete) {
      // The caller stopped at the last byte it asked for; the end of the body (its terminating
      // chunk) is usually already here. Give it `lingerMs` to come, then close the connection.
      const timer = setTimeout(() => message.destroy(), this.#lingerMs);
      message.once('close', () => clearTimeout(timer));
      message.once('end', () => clearTimeout(timer));
    }
    // Reads what is left (nothing, or the end) so the socket goes back to the pool.
    message.resume();
  }
}

export interface NodeTransportOptions {
  /** Sockets per origin at most (the device's concurrency). */
  readonly maxSockets: number;
  /** How long a released response may take to end before its connection is closed. */
  readonly lingerMs: number;
}

/**
 * Requests through node:http / node:https with keep-alive agents of this device alone (closed
 * with it), at most `maxSockets` connections per origin. Bodies are handed over as the socket
 * delivers them, without the WHATWG streams layer of Node's fetch.
 */
export class NodeTransport implements Transport {
  readonly name = 'node-http';
  readonly #options: NodeTransportOptions;
  #http: HttpAgent | undefined;
  #https: HttpsAgent | undefined;
  /** Connections opened so far. */
  connectionsOpened = 0;

  constructor(options: NodeTransportOptions) {
    this.#options = options;
  }

  request(method: 'GET' | 'HEAD', url: string, headers: Readonly<Record<string, string>>): TransportRequest {
    let current: ClientRequest | undefined;
    let aborted = false;
    let stale = 0;
    const abortError = () => Object.assign(new Error('the request was aborted'), { name: 'AbortError' });
    const send = (target: URL, sendHeaders: Readonly<Record<string, string>>, redirects: number): Promise<TransportResponse> =>
      new Promise<IncomingMessage | 'stale'>((resolve, reject) => {
        if (aborted) {
          reject(abortError());
          return;
        }
        const secure = target.protocol === 'https:';
        const agent = secure
          ? (this.#https ??= new HttpsAgent(this.#agentOptions()))
          : (this.#http ??= new HttpAgent(this.#agentOptions()));
        const req = (secure ? httpsRequest : httpRequest)(target, { method, headers: sendHeaders, agent });
        current = req;
        req.once('socket', (socket) => {
          if (socket.connecting) this.connectionsOpened++;
        });
        req.once('response', resolve);
        req.once('error', (error) => {
          // A kept-alive connection the server closed meanwhile: once more (GET and HEAD are
          // idempotent), on another connection; at most once per socket the agent may hold.
          if (req.reusedSocket && !aborted && stale < this.#options.maxSockets) {
            stale++;
            resolve('stale');
          } else reject(error);
        });
        req.end();
      }).then((message) => {
        if (message === 'stale') return send(target, sendHeaders, redirects);
        const status = message.statusCode ?? 0;
        const location = message.headers.location;
        if (!REDIRECTS.has(status) || location === undefined) return new NodeResponse(message, this.#options.lingerMs);
        message.resume();
        if (redirects >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects`);
        const next = redirectTarget(target, location, sendHeaders);
        return send(new URL(next.url), next.headers, redirects + 1);
      });
    const response = send(new URL(url), headers, 0);
    return {
      response,
      abort: () => {
        aborted = true;
        current?.destroy(abortError());
      },
    };
  }

  #agentOptions() {
    const { maxSockets } = this.#options;
    return { keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' as const };
  }

  close(): void {
    this.#http?.destroy();
    this.#https?.destroy();
  }
}
