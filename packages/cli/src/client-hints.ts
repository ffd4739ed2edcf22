import { basename, dirname } from 'node:path';
import type { NbdEndpoint, NbdUriTls } from './nbd-uri.js';
import { formatNbdUri } from './nbd-uri.js';
import { shellQuote } from './shell-quote.js';

export interface HintedExport {
  readonly name: string;
  readonly writable: boolean;
}

function qemuImageOpts(endpoint: NbdEndpoint, exportName: string, creds: string | undefined): string {
  const where = 'path' in endpoint ? `path=${endpoint.path}` : `host=${endpoint.host},port=${endpoint.port}`;
  const name = exportName === '' ? '' : `,export=${exportName}`;
  return `driver=nbd,${where}${name}${creds === undefined ? '' : `,tls-creds=${creds}`}`;
}

/**
 * Ready-to-paste commands for the real NBD clients: nbdinfo, qemu-img and nbdcopy (download, and
 * upload when the export is writable). With TLS PSK, qemu needs the key file to be called
 * keys.psk in a folder of its own; when it is not, a note says so instead of a broken command.
 */
export function clientHints(endpoint: NbdEndpoint, exports: readonly HintedExport[], tls?: NbdUriTls): string[] {
  const lines: string[] = [];
  const first = exports[0];
  if (!first) return lines;
  const uri = (name: string) => shellQuote(formatNbdUri(endpoint, name, tls));
  if (exports.length > 1) lines.push(`nbdinfo --list ${uri(first.name)}`);
  for (const { name, writable } of exports) {
    lines.push(`nbdinfo ${uri(name)}`);
    if (tls === undefined) {
      lines.push(`qemu-img info ${uri(name)}`);
    } else if (tls.pskFile !== undefined && basename(tls.pskFile) === 'keys.psk') {
      const object = `tls-creds-psk,id=tls0,dir=${dirname(tls.pskFile)},username=${tls.username ?? 'USER'},endpoint=client`;
      lines.push(`qemu-img info --object ${shellQuote(object)} --image-opts ${shellQuote(qemuImageOpts(endpoint, name, 'tls0'))}`);
    } else {
      lines.push('# qemu-img: put the PSK file as keys.psk in a folder of its own, then use --object tls-creds-psk,dir=FOLDER,…');
    }
    lines.push(`nbdcopy ${uri(name)} disk.img          # download`);
    if (writable) lines.push(`nbdcopy disk.img ${uri(name)}          # upload`);
  }
  return lines;
}
