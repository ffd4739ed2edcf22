/** The response headers a device reads (names are case-insensitive, as in `Headers.get`). */
export interface HeaderReader {
  get(name: string): string | null;
}

/** One response whose headers have arrived; its body is read with `consume` or dropped with `release`. */
export interface TransportResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: HeaderReader;
  /**
   * Hands each body chunk to `onChunk` (valid only during the call: copy what you keep) until
   * `onChunk` returns false (the caller has what it needs) or the body ends. Rejects when the
   * connection fails or `onChunk` throws.
   */
  consume(onChunk: (chunk: Uint8Array) => boolean): Promise<void>;
  /**
   * Done with the response: a body read to its end keeps its connection for the next request;
   * anything else not yet read is dropped (which may close the connection). Idempotent.
   */
  release(): void;
}

/** A request under way: its response (after redirects), and a way to abort it at any time. */
export interface TransportRequest {
  readonly response: Promise<TransportResponse>;
  /** Stops the request (or the body of its response): `response` or `consume` reject, the connection closes. */
  abort(): void;
}

/** How a device sends its requests: Node's http/https in Node, `fetch` elsewhere (or when given one). */
export interface Transport {
  /** A short name for messages and stats: 'node-http' or 'fetch'. */
  readonly name: string;
  /** Connections opened so far, when the transport knows (fetch pools them out of sight). */
  readonly connectionsOpened?: number;
  request(method: 'GET' | 'HEAD', url: string, headers: Readonly<Record<string, string>>): TransportRequest;
  /** Closes idle connections and refuses nothing: the caller stops sending first. */
  close(): void;
}

/** `value` when it is an Error, else an Error that carries it as its cause. */
export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error('a non-Error was thrown', { cause: value });
}
