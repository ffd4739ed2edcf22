import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';

/** `off`: no TLS; `on`: TLS offered, plaintext allowed; `require`: nothing but STARTTLS and ABORT before TLS. */
export type TlsMode = 'off' | 'on' | 'require';

export interface ServerTlsOptions {
  /** Default `require`. */
  readonly mode?: TlsMode;
  /** A PSK file of `identity:hexkey` lines, as `psktool` writes and `nbdkit --tls-psk` reads. */
  readonly pskFile?: string | undefined;
  /** PSK keys by identity, instead of or besides `pskFile`. */
  readonly psk?: Readonly<Record<string, Uint8Array>>;
  /** A directory holding `server-cert.pem`, `server-key.pem` and optionally `ca-cert.pem`, as `nbdkit --tls-certificates`. */
  readonly certificates?: string | undefined;
  /** PEM certificate chain and key (instead of `certificates`). */
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  /** PEM CA certificates that sign client certificates. */
  readonly ca?: string | Buffer;
  /** Require a client certificate signed by `ca` (`nbdkit --tls-verify-peer`). Default false. */
  readonly verifyPeer?: boolean;
}

export interface ClientTlsOptions {
  /** A PSK file of `identity:hexkey` lines; the key of `username` is used. */
  readonly pskFile?: string | undefined;
  /** PSK identity; default the login name, as libnbd. */
  readonly username?: string | undefined;
  /** An explicit PSK instead of `pskFile`. */
  readonly psk?: { readonly identity: string; readonly key: Uint8Array };
  /** A directory holding `ca-cert.pem` and optionally `client-cert.pem`/`client-key.pem`, as libnbd's `tls-certificates`. */
  readonly certificates?: string | undefined;
  readonly ca?: string | Buffer;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  /** Verify the server certificate (default true). Over TCP its name must match the host. */
  readonly verifyPeer?: boolean | undefined;
  /** Name the server certificate must carry; default the host connected to. */
  readonly servername?: string;
}

/**
 * With a PSK: OpenSSL uses an external PSK in TLS 1.3 only under a SHA-256 suite (otherwise it
 * silently falls back to certificates), and TLS 1.2 needs the PSK suites, which are off by default.
 */
const TLS13_SHA256 = 'TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256';
const PSK12 =
  'ECDHE-PSK-CHACHA20-POLY1305:DHE-PSK-AES256-GCM-SHA384:DHE-PSK-AES128-GCM-SHA256:PSK-AES256-GCM-SHA384:PSK-AES128-GCM-SHA256:PSK-CHACHA20-POLY1305';
const CERT12 = tls.DEFAULT_CIPHERS.split(':')
  .filter((c) => !c.startsWith('TLS_'))
  .join(':');
const PSK_ONLY_CIPHERS = `${TLS13_SHA256}:${PSK12}`;
const PSK_AND_CERT_CIPHERS = `${TLS13_SHA256}:${PSK12}:${CERT12}`;

/** Parses `identity:hexkey` lines (blank lines and `#` comments ignored). */
export function parsePskFile(text: string): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.lastIndexOf(':');
    const identity = line.slice(0, colon);
    const hex = line.slice(colon + 1);
    if (colon <= 0 || hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) {
      throw new Error(`PSK file line ${index + 1}: expected identity:hexkey`);
    }
    keys.set(identity, Buffer.from(hex, 'hex'));
  }
  return keys;
}

function readOptional(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function pemOptions(
  dir: string | undefined,
  role: 'server' | 'client',
  explicit: { cert?: string | Buffer | undefined; key?: string | Buffer | undefined; ca?: string | Buffer | undefined },
): { cert?: string | Buffer; key?: string | Buffer; ca?: string | Buffer } {
  const out: { cert?: string | Buffer; key?: string | Buffer; ca?: string | Buffer } = {};
  const cert = explicit.cert ?? (dir === undefined ? undefined : readOptional(join(dir, `${role}-cert.pem`)));
  const key = explicit.key ?? (dir === undefined ? undefined : readOptional(join(dir, `${role}-key.pem`)));
  const ca = explicit.ca ?? (dir === undefined ? undefined : readOptional(join(dir, 'ca-cert.pem')));
  if (cert !== undefined) out.cert = cert;
  if (key !== undefined) out.key = key;
  if (ca !== undefined) out.ca = ca;
  return out;
}

export interface ServerTls {
  readonly mode: TlsMode;
  /** Wraps the raw connection after STARTTLS has been acknowledged. */
  wrap(raw: Duplex): tls.TLSSocket;
}

/** Reads keys and certificates once, when the server is created. */
export function serverTls(options: ServerTlsOptions | undefined): ServerTls | undefined {
  if (!options || options.mode === 'off') return undefined;
  const keys = new Map<string, Buffer>();
  if (options.pskFile !== undefined) for (const [id, key] of parsePskFile(readFileSync(options.pskFile, 'utf8'))) keys.set(id, key);
  for (const [id, key] of Object.entries(options.psk ?? {})) keys.set(id, Buffer.from(key));
  const pem = pemOptions(options.certificates, 'server', options);
  if (keys.size === 0 && (pem.cert === undefined || pem.key === undefined)) {
    throw new Error('TLS needs PSK keys (pskFile/psk) or a certificate and key (certificates/cert+key)');
  }
  const verifyPeer = options.verifyPeer ?? false;
  if (verifyPeer && pem.ca === undefined) throw new Error('verifyPeer needs the CA certificate (ca-cert.pem or ca)');
  const secureContext = tls.createSecureContext({
    ...pem,
    minVersion: 'TLSv1.2',
    ...(keys.size > 0 ? { ciphers: PSK_AND_CERT_CIPHERS } : {}),
  });
  return {
    mode: options.mode ?? 'require',
    wrap: (raw) =>
      new tls.TLSSocket(raw, {
        isServer: true,
        secureContext,
        requestCert: verifyPeer,
        rejectUnauthorized: verifyPeer,
        ...(keys.size > 0 ? { pskCallback: (_socket: tls.TLSSocket, identity: string) => keys.get(identity) ?? null } : {}),
      }),
  };
}

export interface ClientTls {
  /** Wraps the raw connection after the server acknowledged STARTTLS. */
  wrap(raw: Duplex): tls.TLSSocket;
  /** Throws when the finished handshake must not be trusted. */
  check(secure: tls.TLSSocket): void;
}

/**
 * The client side. With a PSK and no CA, only a PSK handshake is accepted: a server that answers
 * with a certificate instead (it did not know our identity) is refused. With a CA, the server's
 * certificate must be signed by it and, over TCP, name the host.
 */
export function clientTls(options: ClientTlsOptions, host: string | undefined): ClientTls {
  let psk = options.psk;
  if (!psk && options.pskFile !== undefined) {
    const identity = options.username ?? userInfo().username;
    const key = parsePskFile(readFileSync(options.pskFile, 'utf8')).get(identity);
    if (!key) throw new Error(`PSK file ${options.pskFile} has no key for '${identity}'`);
    psk = { identity, key };
  }
  const pem = pemOptions(options.certificates, 'client', options);
  if (!psk && pem.ca === undefined && options.verifyPeer !== false) {
    throw new Error('TLS needs a PSK (pskFile/psk), a CA certificate (certificates/ca), or verifyPeer: false');
  }
  const verifyPeer = options.verifyPeer ?? true;
  const servername = options.servername ?? host;
  const connectOptions: tls.ConnectionOptions = {
    ...pem,
    minVersion: 'TLSv1.2',
    // Verification happens in `check`, which knows whether a PSK handshake was expected.
    rejectUnauthorized: false,
    ...(servername !== undefined && !/^[\d.:]+$/.test(servername) ? { servername } : {}),
    // A Unix socket has no host name: the chain is still verified, the name is not.
    checkServerIdentity: (_name, cert) => (servername === undefined ? undefined : tls.checkServerIdentity(servername, cert)),
  };
  if (psk) {
    const { identity, key } = psk;
    // Without a CA only a PSK handshake can be trusted, so only PSK suites are offered.
    connectOptions.ciphers = pem.ca === undefined ? PSK_ONLY_CIPHERS : PSK_AND_CERT_CIPHERS;
    connectOptions.pskCallback = () => ({ identity, psk: Buffer.from(key) });
  }
  return {
    wrap: (raw) => tls.connect({ ...connectOptions, socket: raw }),
    check: (secure) => {
      const certificate = secure.getPeerCertificate();
      const usedCertificate = Object.keys(certificate).length > 0;
      if (!usedCertificate) {
        if (psk) return;
        throw new Error('the server sent no certificate');
      }
      if (!verifyPeer) return;
      if (pem.ca === undefined) throw new Error('the server did not accept our PSK identity and offered a certificate instead');
      if (!secure.authorized) throw new Error(`the server certificate is not trusted: ${String(secure.authorizationError)}`);
    },
  };
}
