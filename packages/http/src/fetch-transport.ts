import type { FetchFunction } from './options.js';
import type { Transport, TransportRequest, TransportResponse } from './transport.js';

class FetchResponse implements TransportResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly #response: Response;
  readonly #abort: () => void;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #ended = false;
  #released = false;

  constructor(response: Response, abort: () => void) {
    this.#response = response;
    this.#abort = abort;
    this.status = response.status;
    this.statusText = response.statusText;
    this.headers = response.headers;
  }

  async consume(onChunk: (chunk: Uint8Array) => boolean): Promise<void> {
    const body = this.#response.body;
    if (body === null) {
      this.#ended = true;
      return;
    }
    this.#reader ??= (body as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      const { done, value } = await this.#reader.read();
      if (done) {
        this.#ended = true;
        return;
      }
      if (!onChunk(value)) return;
    }
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    // Cancelling a body not read to its end closes its connection; aborting a finished one would too.
    if (this.#ended) return;
    if (this.#reader !== undefined) this.#reader.cancel().catch(() => undefined);
    else this.#abort();
  }
}

/**
 * Requests through a WHATWG `fetch`: the browser's, or one the caller gives. Redirects are
 * followed by fetch itself; connections are pooled by it too (the device bounds how many
 * requests it starts).
 */
export class FetchTransport implements Transport {
  readonly name = 'fetch';
  readonly #fetch: FetchFunction;

  constructor(fetchFunction: FetchFunction) {
    this.#fetch = fetchFunction;
  }

  request(method: 'GET' | 'HEAD', url: string, headers: Readonly<Record<string, string>>): TransportRequest {
    const controller = new AbortController();
    const abort = () => controller.abort();
    const response = this.#fetch(url, { method, headers, signal: controller.signal, redirect: 'follow' }).then(
      (r) => new FetchResponse(r, abort),
    );
    return { response, abort };
  }

  close(): void {
    // fetch's pool is the platform's: nothing of ours to close.
  }
}
