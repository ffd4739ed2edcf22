/** The status line and headers of an HTTP/1.x response, header names lower-cased. */
export interface ResponseHead {
  readonly status: number;
  readonly statusText: string;
  readonly headers: ReadonlyMap<string, string>;
  /** The connection may carry another request once this response's body is read. */
  readonly keepAlive: boolean;
}

/** A response that is not HTTP/1.x as RFC 9112 writes it. */
export class HttpParseError extends Error {
  override readonly name = 'HttpParseError';
}

/** The most bytes a response head (status line and headers) may take. */
export const MAX_HEAD_BYTES = 64 * 1024;
/** The most bytes a chunk-size line or a trailer line may take. */
const MAX_LINE_BYTES = 4096;

const CR = 13;
const LF = 10;
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/;
const HEADER = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*$/;
const latin1 = new TextDecoder('latin1');

type BodyState =
  | { kind: 'none' }
  | { kind: 'length'; left: number }
  | { kind: 'close' }
  | { kind: 'chunk-size'; line: number[] }
  | { kind: 'chunk-data'; left: number }
  | { kind: 'chunk-end'; seen: number }
  | { kind: 'trailer'; line: number[] };

/**
 * One HTTP/1.x response, fed the bytes of its connection in pieces: first the head (`feedHead`
 * until it returns with `head` set), then the body (`feedBody`, framed by Content-Length, chunked
 * transfer coding, or the end of the connection). Holds no socket; throws HttpParseError for a
 * response it cannot frame.
 */
export class ResponseParser {
  head: ResponseHead | undefined;
  /** The whole message (head and body) has been read. */
  complete = false;
  readonly #method: 'GET' | 'HEAD';
  readonly #headBytes: Uint8Array[] = [];
  #headLength = 0;
  /** How many of "\r\n\r\n" the last head bytes matched. */
  #match = 0;
  #body: BodyState = { kind: 'none' };

  constructor(method: 'GET' | 'HEAD') {
    this.#method = method;
  }

  /** Reads head bytes from `data`; returns how many it used (the rest is body). */
  feedHead(data: Uint8Array): number {
    let i = 0;
    const n = data.byteLength;
    while (i < n && this.#match !== 4) {
      if (this.#match === 0) {
        // Nothing begun: a match can only begin with the CR just before an LF, so jump there.
        const lf = data.indexOf(LF, i);
        i = Math.max(i, (lf < 0 ? n : lf) - 1);
        if (i >= n) break;
      }
      this.#step(data[i++]!);
    }
    this.#headLength += i;
    if (this.#headLength > MAX_HEAD_BYTES) throw new HttpParseError(`a response head longer than ${MAX_HEAD_BYTES} bytes`);
    if (this.#match !== 4) {
      this.#headBytes.push(data.slice(0, i));
      return i;
    }
    let all = data.subarray(0, i);
    if (this.#headBytes.length > 0) {
      // A head that came in pieces: joined (the pieces were copied: the read buffer is reused).
      this.#headBytes.push(all);
      all = new Uint8Array(this.#headLength);
      let at = 0;
      for (const part of this.#headBytes) {
        all.set(part, at);
        at += part.byteLength;
      }
    }
    this.#headBytes.length = 0;
    this.#headLength = 0;
    this.#match = 0;
    const head = this.#parseHead(latin1.decode(all));
    // An interim (1xx) response: the real one follows.
    if (head.status >= 100 && head.status < 200) return i;
    this.head = head;
    this.#frame(head);
    return i;
  }

  #step(byte: number): void {
    if (byte === CR) this.#match = this.#match === 2 ? 3 : 1;
    else if (byte === LF) this.#match = this.#match === 1 || this.#match === 3 ? this.#match + 1 : 0;
    else this.#match = 0;
  }

  /**
   * Reads body bytes from `data`, handing each stretch of payload to `onBody` (a view of `data`);
   * stops after a stretch for which `onBody` returns false, or at the end of the message. Returns
   * how many bytes it used.
   */
  feedBody(data: Uint8Array, onBody: (payload: Uint8Array) => boolean): number {
    let i = 0;
    while (i < data.byteLength && !this.complete) {
      const body = this.#body;
      switch (body.kind) {
        case 'none':
          this.complete = true;
          break;
        case 'close': {
          const more = onBody(data.subarray(i));
          i = data.byteLength;
          if (!more) return i;
          break;
        }
        case 'length':
        case 'chunk-data': {
          const n = Math.min(body.left, data.byteLength - i);
          body.left -= n;
          const more = onBody(data.subarray(i, i + n));
          i += n;
          if (body.left === 0) {
            if (body.kind === 'length') this.complete = true;
            else this.#body = { kind: 'chunk-end', seen: 0 };
          }
          if (!more) return i;
          break;
        }
        case 'chunk-end': {
          const byte = data[i++]!;
          if (byte !== (body.seen === 0 ? CR : LF)) throw new HttpParseError('a chunk not followed by CRLF');
          if (++body.seen === 2) this.#body = { kind: 'chunk-size', line: [] };
          break;
        }
        case 'chunk-size':
        case 'trailer': {
          const byte = data[i++]!;
          if (byte !== LF) {
            if (body.line.length >= MAX_LINE_BYTES) throw new HttpParseError('a chunk-size or trailer line too long');
            body.line.push(byte);
            break;
          }
          const line = String.fromCharCode(...body.line).replace(/\r$/, '');
          body.line = [];
          if (body.kind === 'trailer') {
            if (line === '') this.complete = true;
            break;
          }
          const size = /^([0-9a-fA-F]{1,12})[ \t]*(?:;.*)?$/.exec(line);
          if (!size) throw new HttpParseError(`not a chunk size: ${JSON.stringify(line.slice(0, 40))}`);
          const left = parseInt(size[1]!, 16);
          this.#body = left === 0 ? { kind: 'trailer', line: [] } : { kind: 'chunk-data', left };
          break;
        }
      }
    }
    if (this.#body.kind === 'none') this.complete = true;
    return i;
  }

  /** The connection ended: fine for a body that runs to the end of the connection, else an error. */
  end(): void {
    if (this.complete) return;
    if (this.head !== undefined && this.#body.kind === 'close') {
      this.complete = true;
      return;
    }
    throw new HttpParseError(this.head === undefined ? 'the connection closed before a response' : 'the connection closed mid-body');
  }

  #parseHead(text: string): ResponseHead {
    const lines = text.slice(0, -4).split('\r\n');
    const status = STATUS_LINE.exec(lines[0]!);
    if (!status) throw new HttpParseError(`not an HTTP/1.x status line: ${JSON.stringify(lines[0]!.slice(0, 80))}`);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const header = HEADER.exec(line);
      if (!header) throw new HttpParseError(`not a header line: ${JSON.stringify(line.slice(0, 80))}`);
      const name = header[1]!.toLowerCase();
      const known = headers.get(name);
      headers.set(name, known === undefined ? header[2]! : `${known}, ${header[2]!}`);
    }
    const connection = (headers.get('connection') ?? '').toLowerCase();
    const http11 = status[1] === '1';
    const keepAlive = http11 ? !/\bclose\b/.test(connection) : /\bkeep-alive\b/.test(connection);
    return { status: Number(status[2]), statusText: status[3] ?? '', headers, keepAlive };
  }

  #frame(head: ResponseHead): void {
    const { status, headers } = head;
    if (this.#method === 'HEAD' || status === 204 || status === 304) {
      this.#body = { kind: 'none' };
      this.complete = true;
      return;
    }
    const encoding = headers.get('transfer-encoding');
    if (encoding !== undefined) {
      const last = encoding.split(',').at(-1)!.trim().toLowerCase();
      if (headers.has('content-length')) throw new HttpParseError('both Transfer-Encoding and Content-Length');
      this.#body = last === 'chunked' ? { kind: 'chunk-size', line: [] } : { kind: 'close' };
      this.#keepAliveOff(last !== 'chunked');
      return;
    }
    const length = headers.get('content-length');
    if (length !== undefined) {
      const values = new Set(length.split(',').map((v) => v.trim()));
      const [value] = values;
      if (values.size !== 1 || !/^\d{1,15}$/.test(value!)) throw new HttpParseError(`a bad Content-Length: ${length}`);
      const left = Number(value);
      this.#body = left === 0 ? { kind: 'none' } : { kind: 'length', left };
      this.complete = left === 0;
      return;
    }
    this.#body = { kind: 'close' };
    this.#keepAliveOff(true);
  }

  #keepAliveOff(off: boolean): void {
    if (off && this.head !== undefined) this.head = { ...this.head, keepAlive: false };
  }
}
