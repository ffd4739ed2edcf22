import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import type { ImageSource } from './image-source.js';

/**
 * What the server does with the next range GET of an image, instead of answering it properly:
 * - `{ status }`: that status (with Retry-After when given);
 * - `'drop'`: closes the connection without an answer;
 * - `{ dropAfter }`: a correct 206 whose connection closes after that many body bytes;
 * - `'stall'`: never answers;
 * - `'ignore-range'`: 200 with the whole file;
 * - `{ contentRange }`: a 206 with that Content-Range and the bytes asked for;
 * - `'long-body'`: a 206 with a right Content-Range and 512 bytes too many (chunked);
 * - `{ replace }`: the image becomes `replace` (a new version) before the request is answered.
 */
export type Action =
  | { readonly status: number; readonly retryAfter?: string }
  | 'drop'
  | { readonly dropAfter: number }
  | 'stall'
  | 'ignore-range'
  | { readonly contentRange: string }
  | 'long-body'
  | { readonly replace: ImageSource };

export interface ImageOptions {
  /** Say `Accept-Ranges: none` on HEAD (default: bytes). */
  readonly acceptRangesNone?: boolean;
  /** Answer every range request with 200 and the whole file. */
  readonly ignoreRanges?: boolean;
  /** Send ETag (default true) and Last-Modified (default true). */
  readonly etag?: boolean;
  readonly lastModified?: boolean;
  /** Answer HEAD with 405. */
  readonly noHead?: boolean;
  /** Ignore If-Range (answer the range of whatever the image is now). */
  readonly ignoreIfRange?: boolean;
  /** ETag value to send instead of the strong default (e.g. a weak one). */
  readonly etagValue?: string;
}

export interface LoggedRequest {
  readonly method: string;
  readonly path: string;
  readonly range: string | undefined;
  readonly ifRange: string | undefined;
  readonly authorization: string | undefined;
}

export class ServedImage {
  source: ImageSource;
  version = 1;
  readonly options: ImageOptions;
  readonly script: Action[] = [];
  readonly log: LoggedRequest[] = [];
  /** Connections of stalled requests that the client closed. */
  stalledClosed = 0;
  /** Requests being answered now, and the most there ever were at once. */
  active = 0;
  maxActive = 0;

  constructor(source: ImageSource, options: ImageOptions) {
    this.source = source;
    this.options = options;
  }

  /** Puts a new version of the image in place (new ETag and Last-Modified). */
  replace(source: ImageSource): void {
    this.source = source;
    this.version++;
  }

  get etag(): string {
    if (this.options.etagValue !== undefined) return this.options.etagValue;
    return `"v${this.version}-${this.source.size}"`;
  }

  get lastModified(): string {
    return new Date(Date.UTC(2024, 0, 1, 0, 0, this.version)).toUTCString();
  }

  /** Range GETs the server answered or dropped. */
  get rangeRequests(): number {
    return this.log.filter((r) => r.method === 'GET' && r.range !== undefined).length;
  }
}

export interface RangeServer {
  readonly server: Server;
  /** Serves `source` at a fresh path and returns its URL. */
  add(source: ImageSource, options?: ImageOptions): { url: string; image: ServedImage };
  /** A URL that answers every request with `status` (a redirect) to `location`; `hits` counts them. */
  redirect(location: string, status?: number): { url: string; readonly hits: number };
  /** Stops answering every image at `url` (its requests get 404 from then on). */
  remove(url: string): void;
  close(): Promise<void>;
}

const CHUNK = 1 << 20;

function parseRange(header: string, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') {
    const suffix = Math.min(Number(match[2]), size);
    return suffix === 0 ? 'unsatisfiable' : { start: size - suffix, end: size };
  }
  const start = Number(match[1]);
  const last = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || last < start) return 'unsatisfiable';
  return { start, end: last + 1 };
}

async function sendBody(res: ServerResponse, source: ImageSource, start: number, end: number): Promise<void> {
  for (let at = start; at < end; at += CHUNK) {
    const bytes = await source.read(at, Math.min(end, at + CHUNK));
    if (!res.write(bytes)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
    if (res.destroyed) return;
  }
}

async function answer(image: ServedImage, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const rangeHeader = req.headers.range;
  const action = req.method === 'GET' && rangeHeader !== undefined ? image.script.shift() : undefined;
  if (action === 'drop') {
    req.socket.destroy();
    return;
  }
  if (action === 'stall') {
    req.socket.once('close', () => image.stalledClosed++);
    return;
  }
  if (typeof action === 'object' && 'replace' in action) image.replace(action.replace);
  if (typeof action === 'object' && 'status' in action) {
    res.writeHead(action.status, action.retryAfter === undefined ? {} : { 'retry-after': action.retryAfter });
    res.end(`scripted ${action.status}\n`);
    return;
  }
  const { source, options } = image;
  const size = source.size;
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
  if (options.etag !== false) headers.etag = image.etag;
  if (options.lastModified !== false) headers['last-modified'] = image.lastModified;
  headers['accept-ranges'] = options.acceptRangesNone === true ? 'none' : 'bytes';
  if (req.method === 'HEAD') {
    res.writeHead(options.noHead === true ? 405 : 200, { ...headers, 'content-length': String(size) });
    res.end();
    return;
  }
  const ifRange = req.headers['if-range'];
  const current =
    ifRange === undefined || options.ignoreIfRange === true || ifRange === headers.etag || ifRange === headers['last-modified'];
  const range =
    rangeHeader === undefined || !current || options.ignoreRanges === true || action === 'ignore-range'
      ? undefined
      : parseRange(rangeHeader, size);
  if (range === 'unsatisfiable') {
    res.writeHead(416, { ...headers, 'content-range': `bytes */${size}` });
    res.end();
    return;
  }
  if (range === undefined) {
    res.writeHead(200, { ...headers, 'content-length': String(size) });
    await sendBody(res, source, 0, size);
    res.end();
    return;
  }
  const { start, end } = range;
  const contentRange = typeof action === 'object' && 'contentRange' in action ? action.contentRange : `bytes ${start}-${end - 1}/${size}`;
  if (action === 'long-body') {
    res.writeHead(206, { ...headers, 'content-range': contentRange });
    await sendBody(res, source, start, end);
    res.end(new Uint8Array(512));
    return;
  }
  res.writeHead(206, { ...headers, 'content-range': contentRange, 'content-length': String(end - start) });
  if (typeof action === 'object' && 'dropAfter' in action) {
    const bytes = await source.read(start, Math.min(end, start + action.dropAfter));
    // Waits until the bytes have left, so the client sees exactly these before the connection goes.
    await new Promise((resolve) => res.write(bytes, resolve));
    req.socket.destroy();
    return;
  }
  await sendBody(res, source, start, end);
  res.end();
}

/** A Node HTTP server on 127.0.0.1 with byte ranges and If-Range, serving images the test adds. */
export async function startRangeServer(): Promise<RangeServer> {
  const images = new Map<string, ServedImage>();
  const redirects = new Map<string, { location: string; status: number; hits: number }>();
  const sockets = new Set<Socket>();
  let serial = 0;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const redirect = redirects.get(path);
    if (redirect !== undefined) {
      redirect.hits++;
      res.writeHead(redirect.status, { location: redirect.location, 'content-length': '0' });
      res.end();
      return;
    }
    const image = images.get(path);
    const ifRange = req.headers['if-range'];
    image?.log.push({
      method: req.method ?? '',
      path,
      range: req.headers.range,
      ifRange: Array.isArray(ifRange) ? ifRange.join() : ifRange,
      authorization: req.headers.authorization,
    });
    if (image === undefined) {
      res.writeHead(404);
      res.end();
      return;
    }
    image.active++;
    image.maxActive = Math.max(image.maxActive, image.active);
    // 'finish' (the last bytes handed to the kernel) comes before the client can see the end.
    let counted = true;
    const done = () => {
      if (counted) image.active--;
      counted = false;
    };
    res.once('finish', done);
    res.once('close', done);
    answer(image, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end('source read failed\n');
      else req.socket.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    add(source, options = {}) {
      const path = `/images/${++serial}.img`;
      const image = new ServedImage(source, options);
      images.set(path, image);
      return { url: `http://127.0.0.1:${port}${path}`, image };
    },
    redirect(location, status = 302) {
      const path = `/redirects/${++serial}`;
      const entry = { location, status, hits: 0 };
      redirects.set(path, entry);
      return {
        url: `http://127.0.0.1:${port}${path}`,
        get hits() {
          return entry.hits;
        },
      };
    },
    remove(url) {
      images.delete(new URL(url).pathname);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One server for the whole test file, closed afterwards. */
export function useRangeServer(): { readonly current: RangeServer } {
  const holder = {} as { current: RangeServer };
  beforeAll(async () => {
    holder.current = await startRangeServer();
  });
  afterAll(async () => {
    await holder.current.close();
  });
  return holder;
}
