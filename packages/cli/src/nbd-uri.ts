import { formatUri } from '@blk/nbd';

/** Where an NBD server listens, as a client needs to know it. */
export type NbdEndpoint = { readonly host: string; readonly port: number } | { readonly path: string };

/** TLS details a client puts in the URI (libnbd reads `user@` and `tls-psk-file=`). */
export interface NbdUriTls {
  readonly username?: string | undefined;
  readonly pskFile?: string | undefined;
}

/** The URI libnbd, qemu and `blk` accept for an export of a server listening at `endpoint`. */
export function formatNbdUri(endpoint: NbdEndpoint, exportName: string, tls?: NbdUriTls): string {
  return formatUri({
    ...endpoint,
    exportName,
    tls: tls !== undefined,
    username: tls?.username,
    tlsPskFile: tls?.pskFile,
  });
}
