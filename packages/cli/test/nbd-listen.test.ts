import { describe, expect, it } from 'vitest';
import { clientHints } from '../src/client-hints.js';
import { listenChoice } from '../src/nbd-listen.js';
import { formatNbdUri } from '../src/nbd-uri.js';
import { parseDeviceSpec } from '../src/index.js';

describe('where serve listens', () => {
  it('defaults to 127.0.0.1:10809, what pnpm start relies on', () => {
    expect(listenChoice('serve', {}, {})).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 10809 });
    expect(listenChoice('serve', { port: '0' }, {})).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 0 });
    expect(listenChoice('serve', { host: '::1', port: '10810' }, {})).toEqual({ kind: 'tcp', host: '::1', port: 10810 });
    expect(listenChoice('serve', { socket: '/tmp/s' }, {})).toEqual({ kind: 'unix', path: '/tmp/s' });
    expect(listenChoice('serve', { stdio: true }, {})).toEqual({ kind: 'stdio' });
  });

  it('takes the default port from BLK_PORT, so pnpm start can run beside another server', () => {
    expect(listenChoice('serve', {}, { BLK_PORT: '0' })).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 0 });
    expect(listenChoice('serve', {}, { BLK_PORT: '' })).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 10809 });
    expect(listenChoice('serve', { port: '7' }, { BLK_PORT: '0' })).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 7 });
    expect(() => listenChoice('serve', {}, { BLK_PORT: 'http' })).toThrow("serve: BLK_PORT: bad port 'http'");
  });

  it('takes inherited sockets only when they are meant for this process', () => {
    const env = { LISTEN_PID: String(process.pid), LISTEN_FDS: '2' };
    expect(listenChoice('serve', {}, env)).toEqual({ kind: 'inherited', fds: [3, 4] });
    expect(listenChoice('serve', {}, { ...env, LISTEN_PID: '1' })).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 10809 });
    expect(listenChoice('serve', { port: '1234' }, env)).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 1234 });
  });

  it('refuses two places at once and bad ports', () => {
    expect(() => listenChoice('serve', { socket: '/s', stdio: true }, {})).toThrow('choose one of');
    expect(() => listenChoice('serve', { socket: '/s', host: 'h' }, {})).toThrow('choose one of');
    expect(() => listenChoice('serve', { port: '-1' }, {})).toThrow("bad port '-1'");
    expect(() => listenChoice('serve', { port: '1e3' }, {})).toThrow("bad port '1e3'");
    expect(() => listenChoice('serve', { socket: '' }, {})).toThrow('--socket needs a path');
  });
});

describe('URIs and client hints', () => {
  it('writes the URI forms libnbd reads, and blk reads them back to the same place', () => {
    const cases: [Parameters<typeof formatNbdUri>, string][] = [
      [[{ host: '127.0.0.1', port: 10809 }, ''], 'nbd://127.0.0.1:10809/'],
      [[{ host: '::1', port: 10810 }, 'disk 1'], 'nbd://[::1]:10810/disk%201'],
      [[{ path: '/tmp/a b.sock' }, 'vm'], 'nbd+unix:///vm?socket=/tmp/a%20b.sock'],
      [
        [{ host: '127.0.0.1', port: 1 }, '', { username: 'alice', pskFile: '/k/keys.psk' }],
        'nbds://alice@127.0.0.1:1/?tls-psk-file=/k/keys.psk',
      ],
      [[{ path: '/s' }, 'x', { username: 'alice', pskFile: '/k' }], 'nbds+unix://alice@/x?socket=/s&tls-psk-file=/k'],
    ];
    for (const [args, uri] of cases) {
      expect(formatNbdUri(...args)).toBe(uri);
      const spec = parseDeviceSpec(uri);
      expect(spec).toMatchObject({ kind: 'nbd', parsed: { exportName: args[1] } });
      const endpoint = args[0];
      if ('path' in endpoint) expect(spec).toMatchObject({ parsed: { path: endpoint.path } });
      else expect(spec).toMatchObject({ parsed: { host: endpoint.host, port: endpoint.port } });
    }
  });

  it('prints nbdinfo, qemu-img and nbdcopy lines, upload only when writable, quoted for the shell', () => {
    expect(clientHints({ host: '127.0.0.1', port: 10809 }, [{ name: '', writable: true }])).toEqual([
      'nbdinfo nbd://127.0.0.1:10809/',
      'qemu-img info nbd://127.0.0.1:10809/',
      'nbdcopy nbd://127.0.0.1:10809/ disk.img          # download',
      'nbdcopy disk.img nbd://127.0.0.1:10809/          # upload',
    ]);
    const unix = clientHints({ path: '/tmp/s.sock' }, [
      { name: 'a', writable: false },
      { name: 'b', writable: false },
    ]);
    expect(unix[0]).toBe("nbdinfo --list 'nbd+unix:///a?socket=/tmp/s.sock'");
    expect(unix).toContain("qemu-img info 'nbd+unix:///b?socket=/tmp/s.sock'");
    expect(unix.some((l) => l.startsWith('nbdcopy disk.img'))).toBe(false);
  });

  it('gives qemu-img its TLS object only when the PSK file is called keys.psk', () => {
    const good = clientHints({ host: 'h', port: 1 }, [{ name: '', writable: true }], { username: 'alice', pskFile: '/etc/blk/keys.psk' });
    expect(good[1]).toBe(
      'qemu-img info --object tls-creds-psk,id=tls0,dir=/etc/blk,username=alice,endpoint=client --image-opts driver=nbd,host=h,port=1,tls-creds=tls0',
    );
    const other = clientHints({ host: 'h', port: 1 }, [{ name: '', writable: true }], { username: 'alice', pskFile: '/etc/blk/psk.txt' });
    expect(other[1]).toMatch(/^# qemu-img: put the PSK file as keys\.psk/);
  });
});
