import { describe, expect, it } from 'vitest';
import { formatUri, parseUri } from '../src/uri.js';

describe('NBD URIs', () => {
  it('parses the forms libnbd writes', () => {
    expect(parseUri('nbd://example.com/disk')).toEqual({ tls: false, host: 'example.com', port: 10809, exportName: 'disk' });
    expect(parseUri('nbd://127.0.0.1:1234/')).toEqual({ tls: false, host: '127.0.0.1', port: 1234, exportName: '' });
    expect(parseUri('nbd://[::1]:99')).toEqual({ tls: false, host: '::1', port: 99, exportName: '' });
    expect(parseUri('nbd+unix:///?socket=/tmp/s.sock')).toEqual({ tls: false, path: '/tmp/s.sock', exportName: '' });
    expect(parseUri('nbd+unix:///my%20disk?socket=/tmp/a%26b.sock')).toEqual({ tls: false, path: '/tmp/a&b.sock', exportName: 'my disk' });
    expect(parseUri('nbds+unix://alice@/?socket=/s&tls-psk-file=/k.psk')).toEqual({
      tls: true,
      path: '/s',
      exportName: '',
      username: 'alice',
      tlsPskFile: '/k.psk',
    });
    expect(parseUri('nbds://bob@host/e?tls-certificates=/etc/pki/nbd&tls-verify-peer=false')).toEqual({
      tls: true,
      host: 'host',
      port: 10809,
      exportName: 'e',
      username: 'bob',
      tlsCertificates: '/etc/pki/nbd',
      tlsVerifyPeer: false,
    });
    // A socket path may hold '+', which is not a space here.
    expect(parseUri('nbd+unix:///?socket=/tmp/a+b').path).toBe('/tmp/a+b');
  });

  it('refuses what it cannot connect to', () => {
    for (const bad of [
      'http://host/',
      'nbd+vsock:///1',
      'nbd:///disk',
      'nbd+unix:///disk',
      'nbd+unix://host/?socket=/s',
      'nbd://host/?socket=/s',
      'nbd://host/?bogus=1',
      'nbd://host:99999/',
      'nbds://host/?tls-verify-peer=maybe',
      'nbd://host/?tls-psk-file=/k',
      'nbd+unix:///?socket=/s&tls-certificates=/c',
      'nbd://host/%zz',
      'not a uri',
    ]) {
      expect(() => parseUri(bad), bad).toThrow(TypeError);
    }
  });

  it('writes the TLS identity and key file as libnbd reads them', () => {
    expect(formatUri({ host: '127.0.0.1', port: 1, tls: true, username: 'alice', tlsPskFile: '/k/keys.psk' })).toBe(
      'nbds://alice@127.0.0.1:1/?tls-psk-file=/k/keys.psk',
    );
    expect(formatUri({ path: '/s', exportName: 'x', tls: true, username: 'alice', tlsPskFile: '/k' })).toBe(
      'nbds+unix://alice@/x?socket=/s&tls-psk-file=/k',
    );
  });

  it('formats URIs that parse back to the same place', () => {
    for (const target of [
      { path: '/tmp/x y.sock', exportName: 'a/b' },
      { host: '::1', port: 5000, exportName: '' },
      { host: '127.0.0.1', port: 10809, exportName: 'disk 1', tls: true },
      { path: '/run/nbd.sock', exportName: '/leading-slash' },
      { host: '127.0.0.1', port: 1, exportName: '', tls: true, username: 'alice', tlsPskFile: '/k/keys.psk' },
      { path: '/s', exportName: 'x', tls: true, username: 'alice', tlsPskFile: '/k' },
    ]) {
      const parsed = parseUri(formatUri(target));
      expect(parsed.exportName).toBe(target.exportName);
      expect(parsed.tls).toBe(target.tls ?? false);
      expect([parsed.username, parsed.tlsPskFile]).toEqual([target.username, target.tlsPskFile]);
      if ('path' in target) expect(parsed.path).toBe(target.path);
      else expect([parsed.host, parsed.port]).toEqual([target.host, target.port]);
    }
  });
});
