import { XenstoreError } from '../errors.js';
import { parsePermission, type Permission } from '../permissions.js';
import { fromUtf8, splitStrings } from './payload.js';

/**
 * Decoders for reply payloads. Each returns the value or throws `XenstoreError` `EPROTO` when the
 * payload does not have the shape the protocol gives that reply.
 */

function malformed(what: string, payload: Uint8Array): XenstoreError {
  const shown = JSON.stringify(fromUtf8(payload.subarray(0, 64)));
  return new XenstoreError('EPROTO', `malformed ${what} reply: ${shown}`);
}

/** `OK\0` (a missing terminator is tolerated). */
export function decodeOk(payload: Uint8Array): void {
  const n = payload.length;
  const ok = (n === 3 || n === 2) && payload[0] === 0x4f && payload[1] === 0x4b && (n === 2 || payload[2] === 0);
  if (!ok) throw malformed('OK', payload);
}

/** `child\0child\0…`; an empty payload is an empty list (not `['']`, the OCaml client's bug). */
export function decodeDirectory(payload: Uint8Array): string[] {
  if (payload.length === 0) return [];
  const { strings, rest } = splitStrings(payload);
  if (rest.length > 0) strings.push(fromUtf8(rest));
  return strings;
}

export function decodePermissions(payload: Uint8Array): Permission[] {
  const { strings, rest } = splitStrings(payload);
  if (rest.length > 0) strings.push(fromUtf8(rest));
  const out: Permission[] = [];
  for (const text of strings) {
    const p = parsePermission(text);
    if (!p) throw malformed('GET_PERMS', payload);
    out.push(p);
  }
  if (out.length === 0) throw malformed('GET_PERMS', payload);
  return out;
}

/** One NUL-terminated string (GET_DOMAIN_PATH, CONTROL output, a transaction id). */
export function decodeString(payload: Uint8Array): string {
  const end = payload.indexOf(0);
  return fromUtf8(end < 0 ? payload : payload.subarray(0, end));
}

export function decodeTransactionId(payload: Uint8Array): number {
  const text = decodeString(payload);
  if (!/^\d{1,10}$/.test(text)) throw malformed('TRANSACTION_START', payload);
  const id = Number(text);
  if (id === 0 || id > 0xffff_ffff) throw malformed('TRANSACTION_START', payload);
  return id;
}

/** `T\0` or `F\0`. */
export function decodeBoolean(payload: Uint8Array): boolean {
  const text = decodeString(payload);
  if (text === 'T') return true;
  if (text === 'F') return false;
  throw malformed('IS_DOMAIN_INTRODUCED', payload);
}

export interface DirectoryPart {
  /** The node's generation: equal across calls means the list did not change in between. */
  readonly generation: string;
  /** Whole child names in this slice. */
  readonly children: string[];
  /** True when this slice ends the list. */
  readonly done: boolean;
  /** Bytes of the child list this slice covered (add to the offset for the next call). */
  readonly length: number;
}

/** `gen\0` then a slice of `child\0…`; the final slice carries one more `\0`. */
export function decodeDirectoryPart(payload: Uint8Array): DirectoryPart {
  const genEnd = payload.indexOf(0);
  if (genEnd < 0) throw malformed('DIRECTORY_PART', payload);
  const generation = fromUtf8(payload.subarray(0, genEnd));
  const body = payload.subarray(genEnd + 1);
  // The final slice ends with an empty string: two NULs in a row, or a lone NUL.
  const done = body.length === 0 || (body.length >= 1 && body[body.length - 1] === 0 && (body.length === 1 || body[body.length - 2] === 0));
  const list = done ? body.subarray(0, body.length - 1) : body;
  const { strings, rest } = splitStrings(list);
  if (rest.length > 0) throw malformed('DIRECTORY_PART', payload);
  return { generation, children: strings, done, length: list.length };
}

export interface WatchEvent {
  readonly path: string;
  readonly token: string;
}

export function decodeWatchEvent(payload: Uint8Array): WatchEvent {
  const { strings } = splitStrings(payload);
  if (strings.length < 2) throw malformed('WATCH_EVENT', payload);
  return { path: strings[0]!, token: strings[1]! };
}

/** An ERROR reply as a `XenstoreError` carrying the wire name. */
export function decodeError(payload: Uint8Array): XenstoreError {
  const name = decodeString(payload);
  return new XenstoreError(name.length > 0 ? name : 'EINVAL');
}
