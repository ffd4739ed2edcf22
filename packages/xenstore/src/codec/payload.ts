const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8');

export function fromUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** One char per byte: lossless for any bytes (the server keeps tokens and paths exactly as sent). */
export function fromLatin1(bytes: Uint8Array): string {
  return latin1Slice(bytes, 0, bytes.length);
}

/** `fromLatin1(bytes.subarray(start, end))` without making the view. */
export function latin1Slice(bytes: Uint8Array, start: number, end: number): string {
  // Short strings (paths, tokens) are built faster by hand than through a Buffer view.
  if (end - start <= 64) {
    let text = '';
    for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i]!);
    return text;
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1');
}

export function latin1(text: string): Uint8Array {
  return Buffer.from(text, 'latin1');
}

/** Accepts text (encoded as UTF-8) or bytes (taken as they are). */
export type Bytes = string | Uint8Array;

export function toBytes(value: Bytes): Uint8Array {
  return typeof value === 'string' ? encoder.encode(value) : value;
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * `parts` each followed by a NUL, then `tail` (if given) with no terminator. Paths and tokens are
 * nearly always ASCII: their char codes are copied directly instead of running the UTF-8 encoder.
 */
function encodeParts(parts: readonly Bytes[], tail: Bytes | undefined): Uint8Array {
  let total = parts.length;
  let ascii = true;
  for (const part of parts) {
    total += part.length;
    if (ascii && typeof part === 'string' && !isAscii(part)) ascii = false;
  }
  if (tail !== undefined) {
    total += tail.length;
    if (ascii && typeof tail === 'string' && !isAscii(tail)) ascii = false;
  }
  if (!ascii) return encodeParts(parts.map(toBytes), tail === undefined ? undefined : toBytes(tail));
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    at = put(out, at, part) + 1;
  }
  if (tail !== undefined) put(out, at, tail);
  return out;
}

/** Copies an ASCII string or bytes into `out` at `at`; returns the end offset. */
function put(out: Uint8Array, at: number, part: Bytes): number {
  if (typeof part === 'string') {
    for (let i = 0; i < part.length; i++) out[at + i] = part.charCodeAt(i);
  } else {
    out.set(part, at);
  }
  return at + part.length;
}

/** Each part followed by a NUL: `a\0b\0…`. */
export function nulTerminated(...parts: readonly Bytes[]): Uint8Array {
  return encodeParts(parts, undefined);
}

/** The parts NUL-terminated, then `tail` with no terminator (WRITE's `path\0value`). */
export function withRawTail(parts: readonly Bytes[], tail: Bytes): Uint8Array {
  return encodeParts(parts, tail);
}

export interface SplitPayload {
  /** Every NUL-terminated string, decoded as UTF-8, terminators dropped. */
  readonly strings: string[];
  /** Bytes after the last NUL (empty when the payload ends with one). */
  readonly rest: Uint8Array;
}

/** Index of the first NUL at or after `from`, or -1 (a plain loop beats indexOf on short arrays). */
export function findNul(bytes: Uint8Array, from = 0): number {
  for (let i = from; i < bytes.length; i++) if (bytes[i] === 0) return i;
  return -1;
}

/** Splits a payload at NUL bytes; never throws. */
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

/** `oneArg(payload, fromLatin1)`, the server's every-request case, without a view or a second pass. */
export function oneLatin1Arg(payload: Uint8Array): string | undefined {
  const end = payload.length - 1;
  if (end < 0 || payload[end] !== 0 || findNul(payload) !== end) return undefined;
  return latin1Slice(payload, 0, end);
}

/** The payload's single argument when it holds exactly one NUL, at its end (C's `onearg`). */
export function oneArg(payload: Uint8Array, decode: (bytes: Uint8Array) => string = fromUtf8): string | undefined {
  if (payload.length === 0 || findNul(payload) !== payload.length - 1) return undefined;
  return decode(payload.subarray(0, payload.length - 1));
}
