import { describe, expect, it } from 'vitest';
import { formatDeviceSpec, parseDeviceSpec } from '../src/index.js';

/** The parsed URI of an NBD SPEC, with the transport it names. */
function parsed(text: string): Record<string, unknown> {
  const spec = parseDeviceSpec(text);
  if (spec.kind !== 'nbd') throw new Error(`${text} is not an NBD spec`);
  return { ...spec.parsed, transport: spec.parsed.path === undefined ? 'tcp' : 'unix' };
}

describe('parseDeviceSpec', () => {
  it('reads memory devices with their size and sector size', () => {
    expect(parseDeviceSpec('ram:1GiB')).toEqual({ kind: 'ram', bytes: 2 ** 30, sectorSize: 512 });
    expect(parseDeviceSpec('mem:64M')).toEqual({ kind: 'mem', bytes: 64 * 2 ** 20, sectorSize: 512 });
    expect(parseDeviceSpec('ram:1G,sector=4096')).toEqual({ kind: 'ram', bytes: 2 ** 30, sectorSize: 4096 });
  });

  it('reads RBD images with namespace, snapshot and cluster options', () => {
    expect(parseDeviceSpec('rbd:rbd/disk1')).toEqual({ kind: 'rbd', pool: 'rbd', image: 'disk1' });
    expect(parseDeviceSpec('rbd:pool/ns/disk@snap1')).toEqual({
      kind: 'rbd',
      pool: 'pool',
      namespace: 'ns',
      image: 'disk',
      snapshot: 'snap1',
    });
    expect(parseDeviceSpec('rbd:p/i?conf=/etc/ceph/a%20b.conf&id=backup&keyring=/k')).toEqual({
      kind: 'rbd',
      pool: 'p',
      image: 'i',
      conf: '/etc/ceph/a b.conf',
      id: 'backup',
      keyring: '/k',
    });
  });

  it('keeps paths verbatim, colons and commas included', () => {
    expect(parseDeviceSpec('file:disk.img')).toEqual({ kind: 'file', path: 'disk.img' });
    expect(parseDeviceSpec('file:/tmp/a,b:c.img')).toEqual({ kind: 'file', path: '/tmp/a,b:c.img' });
    expect(parseDeviceSpec('fmap:store.fmap')).toEqual({ kind: 'fmap', path: 'store.fmap' });
  });

  it('reads the NBD URI forms libnbd writes', () => {
    expect(parseDeviceSpec('nbd://127.0.0.1:10809')).toEqual({
      kind: 'nbd',
      uri: 'nbd://127.0.0.1:10809',
      parsed: { tls: false, exportName: '', host: '127.0.0.1', port: 10809 },
    });
    expect(parsed('nbd://disk-host')).toMatchObject({ host: 'disk-host', port: 10809 });
    expect(parsed('nbd://example.com/disk%201')).toMatchObject({ transport: 'tcp', exportName: 'disk 1' });
    expect(parsed('nbd://[::1]:10810/x')).toMatchObject({ transport: 'tcp', exportName: 'x', host: '::1', port: 10810 });
    expect(parsed('nbd+unix:///?socket=/tmp/blk.sock')).toMatchObject({ transport: 'unix', tls: false, exportName: '' });
    expect(parsed('nbd+unix:///vm1?socket=/tmp/blk.sock')).toMatchObject({ transport: 'unix', exportName: 'vm1' });
    expect(parsed('nbd+unix:///?socket=/tmp/a+b%20c.sock')).toMatchObject({ path: '/tmp/a+b c.sock' });
    expect(parsed('nbds://alice@host/disk?tls-psk-file=keys.psk')).toMatchObject({ transport: 'tcp', tls: true, exportName: 'disk' });
    expect(parsed('nbds+unix://alice@/?socket=/s&tls-psk-file=k')).toMatchObject({
      transport: 'unix',
      tls: true,
      path: '/s',
      username: 'alice',
      tlsPskFile: 'k',
    });
    expect(parsed('nbds://h/?tls-certificates=/etc/pki&tls-verify-peer=false')).toMatchObject({
      tlsCertificates: '/etc/pki',
      tlsVerifyPeer: false,
    });
  });

  it('reads http:// and https:// URLs as read-only web images', () => {
    expect(parseDeviceSpec('http://127.0.0.1:8080/disk.img')).toEqual({ kind: 'http', url: 'http://127.0.0.1:8080/disk.img' });
    expect(parseDeviceSpec('https://example.com/a/b.raw?sig=x')).toEqual({ kind: 'http', url: 'https://example.com/a/b.raw?sig=x' });
    expect(formatDeviceSpec(parseDeviceSpec('HTTPS://example.com/x'))).toBe('HTTPS://example.com/x');
  });

  it.each([
    ['', 'expected ram:SIZE'],
    ['disk.img', 'expected ram:SIZE'],
    ['/dev/sda', 'expected ram:SIZE'],
    ['rom:1G', 'expected ram:SIZE'],
    ['ram:', 'needs a size'],
    ['http://', 'not a valid URL'],
    ['https://u:p@host/x', 'credentials'],
    ['ram:lots', "bad size 'lots'"],
    ['ram:0', 'more than 0 bytes'],
    ['ram:1000', 'not a whole number of 512-byte sectors'],
    ['ram:1M,sector=4095', 'not a power of two'],
    ['ram:1M,sector=256', 'not a power of two'],
    ['ram:1M,sector=131072', 'not a power of two'],
    ['ram:1M,sector=abc', 'is not a number'],
    ['ram:1M,colour=red', "unknown option 'colour=red'"],
    ['mem:6K,sector=4096', 'not a whole number of 4096-byte sectors'],
    ['file:', 'needs a path'],
    ['fmap:', 'needs a path'],
    ['nbd://', 'missing host'],
    ['nbd+unix:///', 'needs ?socket=PATH'],
    ['nbd+unix://host/?socket=/s', 'nbd+unix takes no host or port'],
    ['nbd://host/?socket=/s', 'socket= is only for nbd+unix'],
    ['rbd:', 'needs POOL/IMAGE'],
    ['rbd:onlypool', 'needs POOL/IMAGE'],
    ['rbd:a/b/c/d', 'needs POOL/IMAGE'],
    ['rbd:a//b', 'needs POOL/IMAGE'],
    ['rbd:a/b@', "bad snapshot name ''"],
    ['rbd:a/b@c@d', "bad snapshot name 'c@d'"],
    ['rbd:a/b?colour=red', "unknown rbd option 'colour'"],
    ['rbd:a/b?conf=', "rbd option 'conf' needs a value"],
    ['rbd:a/b?conf=%zz', 'bad percent-encoding'],
    ['nbd+vsock:///', "unsupported NBD URI scheme 'nbd+vsock'"],
    ['nbd://host/%zz', 'percent-encoding'],
    ['nbd://host:port/', 'not an NBD URI'],
    ['nbd://host:65536/', "bad port '65536'"],
    ['nbd:host', 'not an NBD URI'],
    ['nbd://host/?colour=blue', "unsupported query parameter 'colour'"],
    ['nbd://host/?tls-psk-file=k', 'TLS parameters need the nbds scheme'],
    ['nbd+unix:///?socket=/s&tls-psk-file=k', 'TLS parameters need the nbds+unix scheme'],
    ['nbds://host/?tls-verify-peer=maybe', 'tls-verify-peer=maybe is not a boolean'],
  ])('refuses %j (%s)', (text, why) => {
    expect(() => parseDeviceSpec(text)).toThrow(why);
  });

  it('formats specs back into a form that parses to the same thing', () => {
    for (const text of [
      'ram:1GiB',
      'mem:3M,sector=4096',
      'file:a b.img',
      'fmap:x',
      'nbd+unix:///e?socket=/s',
      'rbd:p/ns/i@s?conf=/a%26b.conf&id=x',
      'rbd:p/i',
    ]) {
      const spec = parseDeviceSpec(text);
      expect(parseDeviceSpec(formatDeviceSpec(spec))).toEqual(spec);
    }
    expect(formatDeviceSpec(parseDeviceSpec('ram:1073741824'))).toBe('ram:1GiB');
    expect(formatDeviceSpec(parseDeviceSpec('rbd:p/i@s?id=x&conf=/c'))).toBe('rbd:p/i@s?conf=/c&id=x');
  });
});
