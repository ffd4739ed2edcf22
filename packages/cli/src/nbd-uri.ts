/** Where an NBD server listens, as a client needs to know it. */
export type NbdEndpoint = { readonly host: string; readonly port: number } | { readonly path: string };

/** TLS details a client puts in the URI (libnbd reads `user@` and `tls-psk-file=`). */
export interface NbdUriTls {
  readonly username?: string;
  readonly pskFile?: string;
}

const encodePart = (text: string) => text.replace(/[^A-Za-z0-9/._~:-]/g, (c) => encodeURIComponent(c));

/**
 * The URI libnbd (nbdinfo, nbdcopy, nbdsh), qemu and `blk` accept for an export:
 * `nbd://HOST:PORT/NAME`, `nbd+unix:///NAME?socket=PATH`, and with TLS `nbds…`, the PSK
 * identity as the user and the key file in `tls-psk-file=`.
 */
export function formatNbdUri(endpoint: NbdEndpoint, exportName: string, tls?: NbdUriTls): string {
  const s = tls ? 's' : '';
  const user = tls?.username === undefined ? '' : `${encodeURIComponent(tls.username)}@`;
  const name = encodePart(exportName).replace(/^\//, '%2F');
  const query: string[] = [];
  if ('path' in endpoint) query.push(`socket=${encodePart(endpoint.path)}`);
  if (tls?.pskFile !== undefined) query.push(`tls-psk-file=${encodePart(tls.pskFile)}`);
  const tail = query.length > 0 ? `?${query.join('&')}` : '';
  if ('path' in endpoint) return `nbd${s}+unix://${user}/${name}${tail}`;
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return `nbd${s}://${user}${host}:${endpoint.port}/${name}${tail}`;
}
