import { UsageError } from './cli-error.js';
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

/** An NBD export named by a libnbd-style URI. */
export interface NbdSpec {
  readonly kind: 'nbd';
  readonly uri: string;
  readonly transport: 'tcp' | 'unix';
  readonly tls: boolean;
  /** The export name ('' is the server's default export). */
  readonly exportName: string;
  /** TCP: the host (IPv6 without brackets) and port (default 10809). */
  readonly host?: string;
  readonly port?: number;
  /** Unix: the socket path. */
  readonly socket?: string;
  /** TLS: the PSK identity (the URI's user), key file, certificate folder, peer verification. */
  readonly username?: string;
  readonly tlsPskFile?: string;
  readonly tlsCertificates?: string;
  readonly tlsVerifyPeer?: boolean;
}

export type DeviceSpec = MemorySpec | PathSpec | NbdSpec;

export const SPEC_FORMS =
  'ram:SIZE, mem:SIZE, file:PATH, fmap:PATH, nbd://HOST[:PORT][/EXPORT], nbd+unix:///[EXPORT]?socket=PATH, or nbds:// / nbds+unix:// for TLS';

const NBD_SCHEMES: ReadonlyMap<string, { transport: 'tcp' | 'unix'; tls: boolean }> = new Map([
  ['nbd:', { transport: 'tcp', tls: false }],
  ['nbds:', { transport: 'tcp', tls: true }],
  ['nbd+unix:', { transport: 'unix', tls: false }],
  ['nbds+unix:', { transport: 'unix', tls: true }],
]);

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

/** scheme://[user@][host[:port]][/export][?query] — WHATWG URL refuses `nbds+unix://alice@/`, libnbd does not. */
const NBD_URI = /^([a-z+]+:)\/\/(?:([^@/?#]*)@)?(\[[^\]/?#]*\]|[^:/?#]*)(?::([^/?#]*))?(\/[^?#]*)?(?:\?([^#]*))?$/i;

function decode(text: string, part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw bad(text, `the ${what} is not valid percent-encoding`);
  }
}

function parseNbd(text: string): NbdSpec {
  const match = NBD_URI.exec(text);
  if (!match) throw bad(text, 'not a valid NBD URI (scheme://[user@]host[:port][/export][?query])');
  const [, protocol = '', user, host = '', port, path = '', query = ''] = match;
  const scheme = NBD_SCHEMES.get(protocol.toLowerCase());
  if (!scheme) throw bad(text, `unsupported scheme '${protocol}' (nbd, nbds, nbd+unix, nbds+unix)`);
  // The export name is the path without its leading slash, percent-decoded (libnbd's rule).
  const exportName = decode(text, path.replace(/^\//, ''), 'export name');
  // Percent-decoding only, as libnbd does: URLSearchParams would turn a '+' in a path into a space.
  const params = query === '' ? [] : query.split('&').map((pair): [string, string] => {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    return [decode(text, key, 'query'), decode(text, eq < 0 ? '' : pair.slice(eq + 1), 'query')];
  });
  const spec: { -readonly [K in keyof NbdSpec]: NbdSpec[K] } = { kind: 'nbd', uri: text, transport: scheme.transport, tls: scheme.tls, exportName };
  for (const [key, value] of params) {
    switch (key) {
      case 'socket':
        spec.socket = value;
        break;
      case 'tls-psk-file':
        spec.tlsPskFile = value;
        break;
      case 'tls-certificates':
        spec.tlsCertificates = value;
        break;
      case 'tls-verify-peer':
        if (!/^(1|0|true|false|yes|no|on|off)$/i.test(value)) throw bad(text, `tls-verify-peer=${value} is not a boolean`);
        spec.tlsVerifyPeer = /^(1|true|yes|on)$/i.test(value);
        break;
      default:
        throw bad(text, `unsupported query parameter '${key}' (socket, tls-psk-file, tls-certificates, tls-verify-peer)`);
    }
  }
  if (!scheme.tls && (spec.tlsPskFile !== undefined || spec.tlsCertificates !== undefined)) {
    throw bad(text, `TLS parameters need the ${scheme.transport === 'unix' ? 'nbds+unix' : 'nbds'} scheme`);
  }
  if (user !== undefined && user !== '') spec.username = decode(text, user, 'user name');
  if (scheme.transport === 'unix') {
    if (host !== '' || port !== undefined) throw bad(text, `a Unix-socket URI has no host: write ${protocol}///EXPORT?socket=PATH`);
    if (!spec.socket) throw bad(text, 'a Unix-socket URI needs ?socket=PATH');
  } else {
    if (host === '') throw bad(text, 'needs a host, e.g. nbd://127.0.0.1:10809');
    if (port !== undefined && (!/^\d+$/.test(port) || Number(port) > 65535)) throw bad(text, `bad port '${port}'`);
    if (spec.socket !== undefined) throw bad(text, `socket= needs the ${scheme.tls ? 'nbds' : 'nbd'}+unix scheme`);
    spec.host = host.replace(/^\[(.*)\]$/, '$1');
    spec.port = port === undefined || port === '' ? 10809 : Number(port);
  }
  return spec;
}

/**
 * Reads a SPEC from the command line (the grammar is in the README). Throws a UsageError naming
 * what was wrong; opens nothing.
 */
export function parseDeviceSpec(text: string): DeviceSpec {
  if (/^nbds?(\+[a-z]+)?:/i.test(text)) return parseNbd(text);
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
  }
}
