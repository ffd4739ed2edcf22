import { runOk } from '@blk/test-kit';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Makes a throwaway CA and, signed by it, a server certificate for localhost/127.0.0.1 and a
 * client certificate, in `dir` under the names nbdkit, libnbd and our TLS options look for:
 * ca-cert.pem, server-cert.pem, server-key.pem, client-cert.pem, client-key.pem.
 */
export async function makeCertificates(openssl: string, dir: string): Promise<void> {
  const at = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await runOk(openssl, [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    at('ca-key.pem'),
    '-out',
    at('ca-cert.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=blk test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  for (const [role, usage, san] of [
    ['server', 'serverAuth', 'DNS:localhost,IP:127.0.0.1'],
    ['client', 'clientAuth', 'DNS:client'],
  ] as const) {
    writeFileSync(
      at(`${role}.ext`),
      `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=${usage}\nsubjectAltName=${san}\n`,
    );
    await runOk(openssl, [
      'req',
      ...ec,
      '-keyout',
      at(`${role}-key.pem`),
      '-out',
      at(`${role}.csr`),
      '-subj',
      `/CN=${role === 'server' ? 'localhost' : 'client'}`,
    ]);
    await runOk(openssl, [
      'x509',
      '-req',
      '-in',
      at(`${role}.csr`),
      '-CA',
      at('ca-cert.pem'),
      '-CAkey',
      at('ca-key.pem'),
      '-CAcreateserial',
      '-out',
      at(`${role}-cert.pem`),
      '-days',
      '2',
      '-extfile',
      at(`${role}.ext`),
    ]);
  }
}

/** A PSK file with one random key for `identity`, as psktool writes it; returns the path. */
export function makePskFile(dir: string, identity: string, name = 'keys.psk'): string {
  const key = Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(32))).toString('hex');
  const path = join(dir, name);
  writeFileSync(path, `${identity}:${key}\n`, { mode: 0o600 });
  return path;
}
