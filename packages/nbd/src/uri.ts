import { DEFAULT_PORT } from './constants.js';

/** What an NBD URI says, as libnbd reads it (nbd_connect_uri). */
export interface NbdUri {
  readonly tls: boolean;
  /** Unix socket path (`nbd+unix`); otherwise host and port. */
  readonly path?: string;
  readonly host?: string;
  readonly port?: number;
  readonly exportName: string;
  /** From the user part (`nbds://alice@host/`): the TLS PSK identity. */
  readonly username?: string;
  readonly tlsCertificates?: string;
  readonly tlsPskFile?: string;
  readonly tlsVerifyPeer?: boolean;
}

const SCHEMES: Readonly<Record<string, { tls: boolean; unix: boolean }>> = {
  'nbd:': { tls: false, unix: false },
  'nbds:': { tls: true, unix: false },
  'nbd+unix:': { tls: false, unix: true },
  'nbds+unix:': { tls: true, unix: true },
};

function parseBoolean(value: string, name: string): boolean {
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new TypeError(`NBD URI: ${name}=${value} is not a boolean`);
}

/** scheme://[user@][host][:port][/path][?query] — libnbd URIs may have a user without a host. */
const URI_PATTERN = /^([a-z][a-z0-9+.-]*):\/\/(?:([^@/?#]*)@)?(\[[^\]]*\]|[^:/?#]*)(?::(\d*))?(\/[^?#]*)?(?:\?([^#]*))?(?:#.*)?$/i;

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new TypeError(`NBD URI: bad percent-encoding in the ${what}`);
  }
}

/**
 * Parses `nbd://host[:port]/[export]`, `nbds://…`, `nbd+unix:///[export]?socket=PATH` and
 * `nbds+unix://[user@]/[export]?socket=PATH&tls-psk-file=F`; query keys `socket`,
 * `tls-certificates`, `tls-psk-file`, `tls-verify-peer`. Throws TypeError on anything else.
 */
export function parseUri(text: string): NbdUri {
  const match = URI_PATTERN.exec(text);
  if (!match) throw new TypeError(`not an NBD URI: ${text}`);
  const [, schemeName = '', user, hostPart = '', portText, path = '', query] = match;
  const scheme = SCHEMES[`${schemeName.toLowerCase()}:`];
  if (!scheme) throw new TypeError(`unsupported NBD URI scheme '${schemeName}' (nbd, nbds, nbd+unix, nbds+unix)`);
  const out: { -readonly [K in keyof NbdUri]: NbdUri[K] } = {
    tls: scheme.tls,
    exportName: decode(path.replace(/^\//, ''), 'export name'),
  };
  if (user !== undefined && user !== '') out.username = decode(user, 'user name');
  for (const pair of query ? query.split('&') : []) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decode(eq < 0 ? pair : pair.slice(0, eq), 'query');
    const value = decode(eq < 0 ? '' : pair.slice(eq + 1), 'query');
    switch (key) {
      case 'socket':
        out.path = value;
        break;
      case 'tls-certificates':
        out.tlsCertificates = value;
        break;
      case 'tls-psk-file':
        out.tlsPskFile = value;
        break;
      case 'tls-verify-peer':
        out.tlsVerifyPeer = parseBoolean(value, key);
        break;
      default:
        throw new TypeError(`NBD URI: unsupported query parameter '${key}'`);
    }
  }
  if (!scheme.tls && (out.tlsPskFile !== undefined || out.tlsCertificates !== undefined)) {
    throw new TypeError(`NBD URI: TLS parameters need the ${scheme.unix ? 'nbds+unix' : 'nbds'} scheme`);
  }
  const host = decode(hostPart.replace(/^\[(.*)\]$/, '$1'), 'host');
  if (scheme.unix) {
    if (out.path === undefined || out.path === '') throw new TypeError('NBD URI: nbd+unix needs ?socket=PATH');
    if (host !== '' || portText !== undefined) throw new TypeError('NBD URI: nbd+unix takes no host or port');
  } else {
    if (out.path !== undefined) throw new TypeError('NBD URI: socket= is only for nbd+unix');
    if (host === '') throw new TypeError('NBD URI: missing host');
    out.host = host;
    const port = portText === undefined || portText === '' ? DEFAULT_PORT : Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TypeError(`NBD URI: bad port '${portText ?? ''}'`);
    out.port = port;
  }
  return out;
}

const escapePart = (text: string) => text.replace(/[^A-Za-z0-9/._~:-]/g, (c) => encodeURIComponent(c));

/**
 * The URI libnbd, qemu and our `connect` understand for a server address; with TLS the PSK
 * identity goes in the user part and the key file in `tls-psk-file=`, as libnbd reads them.
 */
export function formatUri(target: {
  path?: string;
  host?: string;
  port?: number;
  exportName?: string;
  tls?: boolean;
  username?: string | undefined;
  tlsPskFile?: string | undefined;
}): string {
  const name = escapePart(target.exportName ?? '').replace(/^\//, '%2F');
  const s = target.tls ? 's' : '';
  const user = target.username === undefined ? '' : `${encodeURIComponent(target.username)}@`;
  const query: string[] = [];
  if (target.path !== undefined) query.push(`socket=${escapePart(target.path)}`);
  if (target.tlsPskFile !== undefined) query.push(`tls-psk-file=${escapePart(target.tlsPskFile)}`);
  const tail = query.length > 0 ? `?${query.join('&')}` : '';
  if (target.path !== undefined) return `nbd${s}+unix://${user}/${name}${tail}`;
  const host = target.host ?? '127.0.0.1';
  const port = target.port ?? DEFAULT_PORT;
  return `nbd${s}://${user}${host.includes(':') ? `[${host}]` : host}:${port}/${name}${tail}`;
}
