const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8');

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

export function fromUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** One char per byte: lossless for any bytes (the server keeps tokens and paths exactly as sent). */
export function fromLatin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

export function latin1(text: string): Uint8Array {
  return Buffer.from(text, 'latin1');
}

/** Accepts text (encoded as UTF-8) or bytes (taken as they are). */
export type Bytes = string | Uint8Array;

export function toBytes(value: Bytes): Uint8Array {
  return typeof value === 'string' ? encoder.encode(value) : value;
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Each part followed by a NUL: `a\0b\0…`. */
export function nulTerminated(...parts: readonly Bytes[]): Uint8Array {
  const encoded = parts.map(toBytes);
  let total = encoded.length;
  for (const e of encoded) total += e.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const e of encoded) {
    out.set(e, at);
    at += e.length + 1;
  }
  return out;
}

/** The parts NUL-terminated, then `tail` with no terminator (WRITE's `path\0value`). */
export function withRawTail(parts: readonly Bytes[], tail: Bytes): Uint8Array {
  const head = nulTerminated(...parts);
  const rest = toBytes(tail);
  return concat([head, rest], head.length + rest.length);
}

export interface SplitPayload {
  /** Every NUL-terminated string, decoded as UTF-8, terminators dropped. */
  readonly strings: string[];
  /** Bytes after the last NUL (empty when the payload ends with one). */
  readonly rest: Uint8Array;
}

/** Splits a payload at NUL bytes; never throws. */
export function splitStrings(payload: Uint8Array, decode: (bytes: Uint8Array) => string = fromUtf8): SplitPayload {
  const strings: string[] = [];
  let start = 0;
  for (;;) {
    const nul = payload.indexOf(0, start);
    if (nul < 0) break;
    strings.push(decode(payload.subarray(start, nul)));
    start = nul + 1;
  }
  return { strings, rest: payload.subarray(start) };
}

/** Number of NUL bytes, C's `xs_count_strings`. */
export function countNuls(payload: Uint8Array): number {
  let n = 0;
  for (const byte of payload) if (byte === 0) n++;
  return n;
}

/** The payload's single argument when it holds exactly one NUL, at its end (C's `onearg`). */
export function oneArg(payload: Uint8Array, decode: (bytes: Uint8Array) => string = fromUtf8): string | undefined {
  if (payload.length === 0 || payload.indexOf(0) !== payload.length - 1) return undefined;
  return decode(payload.subarray(0, payload.length - 1));
}
