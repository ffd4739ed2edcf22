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

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Each part followed by a NUL: `a\0b\0…`. */
export function nulTerminated(...parts: readonly Bytes[]): Uint8Array {
  // Paths and tokens are nearly always ASCII: copy char codes instead of running the UTF-8 encoder.
  let total = parts.length;
  let ascii = true;
  for (const part of parts) {
    total += part.length;
    if (typeof part === 'string' && ascii && !isAscii(part)) ascii = false;
  }
  if (!ascii) return nulTerminated(...parts.map(toBytes));
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    if (typeof part === 'string') {
      for (let i = 0; i < part.length; i++) out[at + i] = part.charCodeAt(i);
    } else {
      out.set(part, at);
    }
    at += part.length + 1;
  }
  return out;
}

/** The parts NUL-terminated, then `tail` with no terminator (WRITE's `path\0value`). */
export function withRawTail(parts: readonly Bytes[], tail: Bytes): Uint8Array {
  if (typeof tail === 'string' && isAscii(tail)) {
    // nulTerminated leaves a NUL after the tail; drop it.
    return nulTerminated(...parts, tail).subarray(0, -1);
  }
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
/** Index of the first NUL at or after `from`, or -1 (a plain loop beats indexOf on short arrays). */
export function findNul(bytes: Uint8Array, from = 0): number {
  for (let i = from; i < bytes.length; i++) if (bytes[i] === 0) return i;
  return -1;
}

export function splitStrings(payload: Uint8Array, decode: (bytes: Uint8Array) => string = fromUtf8): SplitPayload {
  const strings: string[] = [];
  let start = 0;
  for (;;) {
    const nul = findNul(payload, start);
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
  if (payload.length === 0 || findNul(payload) !== payload.length - 1) return undefined;
  return decode(payload.subarray(0, payload.length - 1));
}
