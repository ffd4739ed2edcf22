// The transmission phase on the wire: 28-byte requests, 16-byte simple replies, 20-byte structured
// chunk headers and their payloads. Cookies travel as two u32 halves and are echoed untouched.
import {
  CHUNK_HEADER_BYTES,
  ChunkType,
  REQUEST_HEADER_BYTES,
  REQUEST_MAGIC,
  ReplyFlag,
  SIMPLE_REPLY_BYTES,
  SIMPLE_REPLY_MAGIC,
  STRUCTURED_REPLY_MAGIC,
} from './constants.js';

const TWO_32 = 2 ** 32;

/** Reads a u64 as a number; values above 2^53 lose precision but stay above any export size. */
export function readU64(bytes: Buffer, pos: number): number {
  return bytes.readUInt32BE(pos) * TWO_32 + bytes.readUInt32BE(pos + 4);
}

export function writeU64(bytes: Buffer, value: number, pos: number): void {
  bytes.writeUInt32BE(Math.floor(value / TWO_32), pos);
  bytes.writeUInt32BE(value >>> 0, pos + 4);
}

export interface RequestHeader {
  readonly flags: number;
  readonly type: number;
  readonly cookieHi: number;
  readonly cookieLo: number;
  readonly offset: number;
  readonly length: number;
}

/** The request header at `pos`; undefined when the magic is wrong. */
export function decodeRequest(bytes: Buffer, pos = 0): RequestHeader | undefined {
  if (bytes.readUInt32BE(pos) !== REQUEST_MAGIC) return undefined;
  return {
    flags: bytes.readUInt16BE(pos + 4),
    type: bytes.readUInt16BE(pos + 6),
    cookieHi: bytes.readUInt32BE(pos + 8),
    cookieLo: bytes.readUInt32BE(pos + 12),
    offset: readU64(bytes, pos + 16),
    length: bytes.readUInt32BE(pos + 24),
  };
}

export function encodeRequest(flags: number, type: number, cookie: number, offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(REQUEST_HEADER_BYTES);
  out.writeUInt32BE(REQUEST_MAGIC, 0);
  out.writeUInt16BE(flags, 4);
  out.writeUInt16BE(type, 6);
  writeU64(out, cookie, 8);
  writeU64(out, offset, 16);
  out.writeUInt32BE(length, 24);
  return out;
}

export function writeSimpleReply(out: Buffer, pos: number, error: number, cookieHi: number, cookieLo: number): void {
  out.writeUInt32BE(SIMPLE_REPLY_MAGIC, pos);
  out.writeUInt32BE(error, pos + 4);
  out.writeUInt32BE(cookieHi, pos + 8);
  out.writeUInt32BE(cookieLo, pos + 12);
}

export function encodeSimpleReply(error: number, cookieHi: number, cookieLo: number): Buffer {
  const out = Buffer.allocUnsafe(SIMPLE_REPLY_BYTES);
  writeSimpleReply(out, 0, error, cookieHi, cookieLo);
  return out;
}

export function writeChunkHeader(
  out: Buffer,
  pos: number,
  flags: number,
  type: number,
  cookieHi: number,
  cookieLo: number,
  length: number,
): void {
  out.writeUInt32BE(STRUCTURED_REPLY_MAGIC, pos);
  out.writeUInt16BE(flags, pos + 4);
  out.writeUInt16BE(type, pos + 6);
  out.writeUInt32BE(cookieHi, pos + 8);
  out.writeUInt32BE(cookieLo, pos + 12);
  out.writeUInt32BE(length, pos + 16);
}

/** Header plus the offset of an OFFSET_DATA chunk: the data follows. */
export const DATA_CHUNK_PREFIX_BYTES = CHUNK_HEADER_BYTES + 8;

export function writeDataChunkPrefix(
  out: Buffer,
  pos: number,
  done: boolean,
  cookieHi: number,
  cookieLo: number,
  offset: number,
  dataBytes: number,
): void {
  writeChunkHeader(out, pos, done ? ReplyFlag.DONE : 0, ChunkType.OFFSET_DATA, cookieHi, cookieLo, dataBytes + 8);
  writeU64(out, offset, pos + CHUNK_HEADER_BYTES);
}

export function encodeNoneChunk(cookieHi: number, cookieLo: number): Buffer {
  const out = Buffer.allocUnsafe(CHUNK_HEADER_BYTES);
  writeChunkHeader(out, 0, ReplyFlag.DONE, ChunkType.NONE, cookieHi, cookieLo, 0);
  return out;
}

export function encodeHoleChunk(done: boolean, cookieHi: number, cookieLo: number, offset: number, bytes: number): Buffer {
  const out = Buffer.allocUnsafe(CHUNK_HEADER_BYTES + 12);
  writeChunkHeader(out, 0, done ? ReplyFlag.DONE : 0, ChunkType.OFFSET_HOLE, cookieHi, cookieLo, 12);
  writeU64(out, offset, CHUNK_HEADER_BYTES);
  out.writeUInt32BE(bytes, CHUNK_HEADER_BYTES + 8);
  return out;
}

/** An ERROR chunk, always the last of its reply. */
export function encodeErrorChunk(cookieHi: number, cookieLo: number, error: number, message: string): Buffer {
  const text = Buffer.from(message.slice(0, 1024), 'utf8');
  const out = Buffer.allocUnsafe(CHUNK_HEADER_BYTES + 6 + text.length);
  writeChunkHeader(out, 0, ReplyFlag.DONE, ChunkType.ERROR, cookieHi, cookieLo, 6 + text.length);
  out.writeUInt32BE(error, CHUNK_HEADER_BYTES);
  out.writeUInt16BE(text.length, CHUNK_HEADER_BYTES + 4);
  out.set(text, CHUNK_HEADER_BYTES + 6);
  return out;
}

export interface BlockStatusExtent {
  /** Bytes, nonzero, below 2^32. */
  readonly length: number;
  readonly flags: number;
}

export function encodeBlockStatusChunk(
  cookieHi: number,
  cookieLo: number,
  contextId: number,
  extents: readonly BlockStatusExtent[],
): Buffer {
  const out = Buffer.allocUnsafe(CHUNK_HEADER_BYTES + 4 + extents.length * 8);
  writeChunkHeader(out, 0, ReplyFlag.DONE, ChunkType.BLOCK_STATUS, cookieHi, cookieLo, 4 + extents.length * 8);
  out.writeUInt32BE(contextId, CHUNK_HEADER_BYTES);
  let pos = CHUNK_HEADER_BYTES + 4;
  for (const extent of extents) {
    out.writeUInt32BE(extent.length, pos);
    out.writeUInt32BE(extent.flags, pos + 4);
    pos += 8;
  }
  return out;
}

// --- client side ----------------------------------------------------------------------------

export interface SimpleReplyHeader {
  readonly kind: 'simple';
  readonly error: number;
  readonly cookie: number;
}

export interface ChunkHeader {
  readonly kind: 'chunk';
  readonly flags: number;
  readonly type: number;
  readonly cookie: number;
  readonly length: number;
}

/** Bytes needed to decode the reply header that starts with `magic`, or undefined for a bad magic. */
export function replyHeaderBytes(magic: number): number | undefined {
  if (magic === SIMPLE_REPLY_MAGIC) return SIMPLE_REPLY_BYTES;
  if (magic === STRUCTURED_REPLY_MAGIC) return CHUNK_HEADER_BYTES;
  return undefined;
}

export function decodeReplyHeader(bytes: Buffer): SimpleReplyHeader | ChunkHeader {
  if (bytes.readUInt32BE(0) === SIMPLE_REPLY_MAGIC) {
    return { kind: 'simple', error: bytes.readUInt32BE(4), cookie: readU64(bytes, 8) };
  }
  return {
    kind: 'chunk',
    flags: bytes.readUInt16BE(4),
    type: bytes.readUInt16BE(6),
    cookie: readU64(bytes, 8),
    length: bytes.readUInt32BE(16),
  };
}

/** Error and message of an error chunk payload; undefined when the message overruns it. */
export function decodeErrorPayload(payload: Buffer): { error: number; message: string; rest: Buffer } | undefined {
  if (payload.length < 6) return undefined;
  const messageLength = payload.readUInt16BE(4);
  if (messageLength > payload.length - 6) return undefined;
  return {
    error: payload.readUInt32BE(0),
    message: payload.toString('utf8', 6, 6 + messageLength),
    rest: payload.subarray(6 + messageLength),
  };
}
