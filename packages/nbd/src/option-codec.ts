// The handshake phase on the wire: greeting, option requests, option replies and their payloads.
import {
  FLAG_FIXED_NEWSTYLE,
  FLAG_NO_ZEROES,
  IHAVEOPT,
  Info,
  MAX_STRING_BYTES,
  NBD_MAGIC,
  OPTION_HEADER_BYTES,
  OPTION_REPLY_HEADER_BYTES,
  OPTION_REPLY_MAGIC,
  Reply,
} from './constants.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes a protocol string: valid UTF-8, no NUL, at most 4096 bytes; undefined otherwise. */
export function decodeString(bytes: Uint8Array): string | undefined {
  if (bytes.length > MAX_STRING_BYTES || bytes.includes(0)) return undefined;
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Encodes a protocol string, refusing what the peer would have to reject. */
export function encodeString(text: string, what: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > MAX_STRING_BYTES || bytes.includes(0)) {
    throw new RangeError(`${what} must be at most ${MAX_STRING_BYTES} UTF-8 bytes without NUL`);
  }
  return bytes;
}

export const GREETING_BYTES = 18;

export function encodeGreeting(): Buffer {
  const out = Buffer.allocUnsafe(GREETING_BYTES);
  out.writeBigUInt64BE(NBD_MAGIC, 0);
  out.writeBigUInt64BE(IHAVEOPT, 8);
  out.writeUInt16BE(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES, 16);
  return out;
}

/** The greeting's handshake flags, or undefined when the magic is wrong (oldstyle or not NBD). */
export function decodeGreeting(bytes: Buffer): number | undefined {
  if (bytes.readBigUInt64BE(0) !== NBD_MAGIC || bytes.readBigUInt64BE(8) !== IHAVEOPT) return undefined;
  return bytes.readUInt16BE(16);
}

export interface OptionHeader {
  readonly option: number;
  readonly length: number;
}

export function encodeOption(option: number, data: Uint8Array = Buffer.alloc(0)): Buffer {
  const out = Buffer.allocUnsafe(OPTION_HEADER_BYTES + data.length);
  out.writeBigUInt64BE(IHAVEOPT, 0);
  out.writeUInt32BE(option, 8);
  out.writeUInt32BE(data.length, 12);
  out.set(data, OPTION_HEADER_BYTES);
  return out;
}

/** Undefined when the magic is wrong. */
export function decodeOptionHeader(bytes: Buffer): OptionHeader | undefined {
  if (bytes.readBigUInt64BE(0) !== IHAVEOPT) return undefined;
  return { option: bytes.readUInt32BE(8), length: bytes.readUInt32BE(12) };
}

export interface OptionReplyHeader {
  readonly option: number;
  readonly type: number;
  readonly length: number;
}

export function encodeOptionReply(option: number, type: number, data: Uint8Array = Buffer.alloc(0)): Buffer {
  const out = Buffer.allocUnsafe(OPTION_REPLY_HEADER_BYTES + data.length);
  out.writeBigUInt64BE(OPTION_REPLY_MAGIC, 0);
  out.writeUInt32BE(option, 8);
  out.writeUInt32BE(type >>> 0, 12);
  out.writeUInt32BE(data.length, 16);
  out.set(data, OPTION_REPLY_HEADER_BYTES);
  return out;
}

/** Undefined when the magic is wrong. */
export function decodeOptionReplyHeader(bytes: Buffer): OptionReplyHeader | undefined {
  if (bytes.readBigUInt64BE(0) !== OPTION_REPLY_MAGIC) return undefined;
  return { option: bytes.readUInt32BE(8), type: bytes.readUInt32BE(12), length: bytes.readUInt32BE(16) };
}

/** u64 size · u16 flags · 124 zero bytes unless NO_ZEROES was agreed. */
export function encodeExportNameReply(size: number, flags: number, noZeroes: boolean): Buffer {
  const out = Buffer.alloc(noZeroes ? 10 : 134);
  out.writeBigUInt64BE(BigInt(size), 0);
  out.writeUInt16BE(flags, 8);
  return out;
}

// --- NBD_OPT_INFO / NBD_OPT_GO -------------------------------------------------------------

export interface InfoRequest {
  readonly name: string;
  readonly infos: readonly number[];
}

export function encodeInfoRequest(name: string, infos: readonly number[]): Buffer {
  const nameBytes = encodeString(name, 'export name');
  const out = Buffer.allocUnsafe(4 + nameBytes.length + 2 + infos.length * 2);
  out.writeUInt32BE(nameBytes.length, 0);
  out.set(nameBytes, 4);
  let pos = out.writeUInt16BE(infos.length, 4 + nameBytes.length);
  for (const info of infos) pos = out.writeUInt16BE(info, pos);
  return out;
}

/** Undefined when the lengths do not add up or the name is not a valid string. */
export function decodeInfoRequest(data: Buffer): InfoRequest | undefined {
  if (data.length < 6) return undefined;
  const nameLength = data.readUInt32BE(0);
  if (nameLength > data.length - 6) return undefined;
  const name = decodeString(data.subarray(4, 4 + nameLength));
  if (name === undefined) return undefined;
  let pos = 4 + nameLength;
  const count = data.readUInt16BE(pos);
  pos += 2;
  if (data.length - pos !== count * 2) return undefined;
  const infos: number[] = [];
  for (let i = 0; i < count; i++, pos += 2) infos.push(data.readUInt16BE(pos));
  return { name, infos };
}

export function encodeInfoExport(size: number, flags: number): Buffer {
  const out = Buffer.allocUnsafe(12);
  out.writeUInt16BE(Info.EXPORT, 0);
  out.writeBigUInt64BE(BigInt(size), 2);
  out.writeUInt16BE(flags, 10);
  return out;
}

export function encodeInfoString(type: typeof Info.NAME | typeof Info.DESCRIPTION, text: string): Buffer {
  const bytes = encodeString(text, type === Info.NAME ? 'export name' : 'description');
  const out = Buffer.allocUnsafe(2 + bytes.length);
  out.writeUInt16BE(type, 0);
  out.set(bytes, 2);
  return out;
}

export interface BlockSizes {
  readonly minimum: number;
  readonly preferred: number;
  readonly maximum: number;
}

export function encodeInfoBlockSize(sizes: BlockSizes): Buffer {
  const out = Buffer.allocUnsafe(14);
  out.writeUInt16BE(Info.BLOCK_SIZE, 0);
  out.writeUInt32BE(sizes.minimum, 2);
  out.writeUInt32BE(sizes.preferred, 6);
  out.writeUInt32BE(sizes.maximum, 10);
  return out;
}

export type InfoReply =
  | { readonly type: typeof Info.EXPORT; readonly size: number; readonly flags: number }
  | { readonly type: typeof Info.NAME | typeof Info.DESCRIPTION; readonly text: string }
  | ({ readonly type: typeof Info.BLOCK_SIZE } & BlockSizes)
  | { readonly type: 'unknown'; readonly info: number };

/** Parses an NBD_REP_INFO payload; undefined when it is malformed. Sizes above 2^53 are refused. */
export function decodeInfoReply(data: Buffer): InfoReply | undefined {
  if (data.length < 2) return undefined;
  const type = data.readUInt16BE(0);
  switch (type) {
    case Info.EXPORT: {
      if (data.length !== 12) return undefined;
      const size = data.readBigUInt64BE(2);
      if (size > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
      return { type, size: Number(size), flags: data.readUInt16BE(10) };
    }
    case Info.NAME:
    case Info.DESCRIPTION: {
      const text = decodeString(data.subarray(2));
      return text === undefined ? undefined : { type, text };
    }
    case Info.BLOCK_SIZE:
      if (data.length !== 14) return undefined;
      return { type, minimum: data.readUInt32BE(2), preferred: data.readUInt32BE(6), maximum: data.readUInt32BE(10) };
    default:
      return { type: 'unknown', info: type };
  }
}

// --- NBD_OPT_LIST ----------------------------------------------------------------------------

export function encodeServerReply(name: string, description: string): Buffer {
  const nameBytes = encodeString(name, 'export name');
  const descriptionBytes = encodeString(description, 'description');
  const out = Buffer.allocUnsafe(4 + nameBytes.length + descriptionBytes.length);
  out.writeUInt32BE(nameBytes.length, 0);
  out.set(nameBytes, 4);
  out.set(descriptionBytes, 4 + nameBytes.length);
  return out;
}

export function decodeServerReply(data: Buffer): { name: string; description: string } | undefined {
  if (data.length < 4) return undefined;
  const nameLength = data.readUInt32BE(0);
  if (nameLength > data.length - 4) return undefined;
  const name = decodeString(data.subarray(4, 4 + nameLength));
  const description = decodeString(data.subarray(4 + nameLength));
  if (name === undefined || description === undefined) return undefined;
  return { name, description };
}

// --- NBD_OPT_LIST_META_CONTEXT / NBD_OPT_SET_META_CONTEXT -----------------------------------

export interface MetaContextRequest {
  readonly name: string;
  readonly queries: readonly string[];
}

export function encodeMetaContextRequest(name: string, queries: readonly string[]): Buffer {
  const parts = [encodeString(name, 'export name'), ...queries.map((q) => encodeString(q, 'meta context query'))];
  const out = Buffer.allocUnsafe(8 + parts.reduce((sum, p) => sum + p.length, 0) + queries.length * 4);
  let pos = 0;
  const put = (bytes: Buffer) => {
    out.writeUInt32BE(bytes.length, pos);
    out.set(bytes, pos + 4);
    pos += 4 + bytes.length;
  };
  put(parts[0]!);
  out.writeUInt32BE(queries.length, pos);
  pos += 4;
  for (const part of parts.slice(1)) put(part);
  return out;
}

/**
 * Parses the request; `'too-big'` when it holds more than `maxQueries` queries, undefined when
 * lengths do not add up or a string is invalid.
 */
export function decodeMetaContextRequest(data: Buffer, maxQueries: number): MetaContextRequest | 'too-big' | undefined {
  let pos = 0;
  const string = (): string | undefined => {
    if (data.length - pos < 4) return undefined;
    const length = data.readUInt32BE(pos);
    if (length > data.length - pos - 4) return undefined;
    const text = decodeString(data.subarray(pos + 4, pos + 4 + length));
    pos += 4 + length;
    return text;
  };
  const name = string();
  if (name === undefined || data.length - pos < 4) return undefined;
  const count = data.readUInt32BE(pos);
  pos += 4;
  // Each query takes at least its 4-byte length, so a count the data cannot hold is malformed.
  if (count > (data.length - pos) / 4) return undefined;
  if (count > maxQueries) return 'too-big';
  const queries: string[] = [];
  for (let i = 0; i < count; i++) {
    const query = string();
    if (query === undefined) return undefined;
    queries.push(query);
  }
  return pos === data.length ? { name, queries } : undefined;
}

export function encodeMetaContextReply(id: number, name: string): Buffer {
  const bytes = encodeString(name, 'meta context');
  const out = Buffer.allocUnsafe(4 + bytes.length);
  out.writeUInt32BE(id, 0);
  out.set(bytes, 4);
  return out;
}

export function decodeMetaContextReply(data: Buffer): { id: number; name: string } | undefined {
  if (data.length < 4) return undefined;
  const name = decodeString(data.subarray(4));
  return name === undefined ? undefined : { id: data.readUInt32BE(0), name };
}

/** A readable name for an option reply type, for error messages. */
export function replyName(type: number): string {
  for (const [name, value] of Object.entries(Reply)) if (value === type) return `NBD_REP_${name}`;
  return `reply ${type}`;
}
