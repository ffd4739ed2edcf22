import { thrownMessage } from '@blk/core';
import { parseUri, type NbdUri } from '@blk/nbd';
import { UsageError } from './cli-error.js';
import { parseOverlaySpec, type OverlaySpec } from './overlay-spec.js';
import { formatRbdSpec, parseRbdSpec, type RbdSpec } from './rbd-spec.js';

export type { RbdSpec } from './rbd-spec.js';
import { formatSizeExact, parseSize } from './size.js';

/** An in-memory device made for this run: `ram:` (sparse, @blk/ramdisk) or `mem:` (dense, @blk/simple-mem). */
export interface MemorySpec {
  readonly kind: 'ram' | 'mem';
  readonly bytes: number;
  readonly sectorSize: number;
}

/** A path on the local file system: `file:` (a raw image) or `fmap:` (an fmap block file). */
export interface PathSpec {
  readonly kind: 'file' | 'fmap';
  readonly path: string;
}

/** An NBD export named by a libnbd-style URI: `connect({ uri })` reads it again when it is opened. */
export interface NbdSpec {
  readonly kind: 'nbd';
  readonly uri: string;
  /** The URI as @blk/nbd's parser read it (libnbd's rules). */
  readonly parsed: NbdUri;
}

/** A read-only image on a web server, read with range requests (@blk/http). */
export interface HttpSpec {
  readonly kind: 'http';
  readonly url: string;
}

export type DeviceSpec = MemorySpec | PathSpec | NbdSpec | HttpSpec | RbdSpec | OverlaySpec;

export const SPEC_FORMS =
  'ram:SIZE, mem:SIZE, file:PATH, fmap:PATH, rbd:POOL/IMAGE[@SNAP], nbd://HOST[:PORT][/EXPORT], nbd+unix:///[EXPORT]?socket=PATH, nbds:// / nbds+unix:// for TLS, http(s)://URL (read-only), or overlay:BASE+TOP';

function bad(text: string, why: string): UsageError {
  return new UsageError(`bad device spec '${text}': ${why}`);
}

function parseSectorSize(text: string, value: string): number {
  if (!/^\d+$/.test(value)) throw bad(text, `sector size '${value}' is not a number`);
  const n = Number(value);
  if (n < 512 || n > 65536 || (n & (n - 1)) !== 0) {
    throw bad(text, `sector size ${value} is not a power of two from 512 to 65536`);
  }
  return n;
}

/** `ram:1GiB` or `ram:1GiB,sector=4096`. */
function parseMemory(kind: 'ram' | 'mem', text: string, rest: string): MemorySpec {
  const [sizeText = '', ...options] = rest.split(',');
  if (sizeText === '') throw bad(text, `${kind}: needs a size, e.g. ${kind}:1GiB`);
  let sectorSize = 512;
  for (const option of options) {
    const [key, value = ''] = option.split('=', 2);
    if (key === 'sector') sectorSize = parseSectorSize(text, value);
    else throw bad(text, `unknown option '${option}' (the only one is sector=N)`);
  }
  let bytes: number;
  try {
    bytes = parseSize(sizeText);
  } catch (error) {
    throw bad(text, (error as Error).message);
  }
  if (bytes === 0) throw bad(text, 'the size must be more than 0 bytes');
  if (bytes % sectorSize !== 0) throw bad(text, `${bytes} bytes is not a whole number of ${sectorSize}-byte sectors`);
  return { kind, bytes, sectorSize };
}

/** An NBD URI, checked by @blk/nbd's parser (libnbd's rules) and reported as a usage error. */
function parseNbd(text: string): NbdSpec {
  try {
    return { kind: 'nbd', uri: text, parsed: parseUri(text) };
  } catch (error) {
    throw bad(text, thrownMessage(error).replace(/^NBD URI: /, ''));
  }
}

/** `http://…` or `https://…`, kept as the user wrote it once the WHATWG parser accepts it. */
function parseHttp(text: string): HttpSpec {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad(text, 'not a valid URL');
  }
  if (url.hostname === '') throw bad(text, 'the URL has no host');
  if (url.username !== '' || url.password !== '') throw bad(text, 'credentials in the URL are not supported');
  return { kind: 'http', url: text };
}

/**
 * Reads a SPEC from the command line (the grammar is in the README). Throws a UsageError naming
 * what was wrong; opens nothing.
 */
export function parseDeviceSpec(text: string): DeviceSpec {
  if (/^nbds?(\+[a-z]+)?:/i.test(text)) return parseNbd(text);
  if (/^https?:\/\//i.test(text)) return parseHttp(text);
  const colon = text.indexOf(':');
  const prefix = colon < 0 ? '' : text.slice(0, colon);
  const rest = text.slice(colon + 1);
  switch (prefix) {
    case 'ram':
    case 'mem':
      return parseMemory(prefix, text, rest);
    case 'file':
    case 'fmap':
      if (rest === '') throw bad(text, `${prefix}: needs a path, e.g. ${prefix}:disk.img`);
      return { kind: prefix, path: rest };
    case 'rbd':
      return parseRbdSpec(text, rest);
    case 'overlay':
      return parseOverlaySpec(text, rest, parseDeviceSpec);
    default:
      throw bad(text, `expected ${SPEC_FORMS}`);
  }
}

/** The SPEC again, as a user would write it (for messages). */
export function formatDeviceSpec(spec: DeviceSpec): string {
  switch (spec.kind) {
    case 'ram':
    case 'mem':
      return `${spec.kind}:${formatSizeExact(spec.bytes)}${spec.sectorSize === 512 ? '' : `,sector=${spec.sectorSize}`}`;
    case 'file':
    case 'fmap':
      return `${spec.kind}:${spec.path}`;
    case 'nbd':
      return spec.uri;
    case 'rbd':
      return formatRbdSpec(spec);
    case 'overlay':
      return `overlay:${formatDeviceSpec(spec.base)}+${formatDeviceSpec(spec.top)}`;
    case 'http':
      return spec.url;
  }
}
