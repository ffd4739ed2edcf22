import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect as connectTcp } from 'node:net';
import { join } from 'node:path';
import { findPeer } from './peers.js';
import { startProcess } from './processes.js';

export interface NginxOptions {
  /** The folder nginx serves at `/`. */
  readonly root: string;
  /** A folder for nginx's config, pid, logs and temp files (a test's temp dir). */
  readonly dir: string;
  /** Extra directives inside the `server { }` block. */
  readonly serverConfig?: string;
  /** Serve https with this certificate and key (PEM files) instead of plain http. */
  readonly tls?: { readonly certificate: string; readonly key: string };
}

export interface Nginx {
  /** `http://127.0.0.1:PORT`, or `https://…` with `tls` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  /** What nginx wrote to its error log so far. */
  errorLog(): string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function config(options: NginxOptions, port: number): string {
  const { dir } = options;
  const temp = (name: string) => join(dir, 'temp', name);
  // One process that never changes user (master_process off): safe as root and as anyone else.
  return `daemon off;
master_process off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${temp('body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};
  default_type application/octet-stream;
  sendfile on;
  tcp_nodelay on;
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:${port}${options.tls ? ' ssl' : ''};
    ${options.tls ? `ssl_certificate ${options.tls.certificate};\n    ssl_certificate_key ${options.tls.key};` : ''}
    root ${options.root};
    ${options.serverConfig ?? ''}
  }
}
`;
}

/**
 * Starts Debian's nginx on a free loopback port serving `root`, with its config, pid, logs and
 * temp files under `dir`; resolves once it accepts connections. Needs the `nginx` peer: wrap the
 * tests in `describeWithPeers(title, ['nginx'], …)` and pass the path it found.
 */
export async function startNginx(options: NginxOptions, program = findPeer('nginx') ?? 'nginx'): Promise<Nginx> {
  mkdirSync(join(options.dir, 'temp'), { recursive: true });
  const errorLog = () => {
    try {
      return readFileSync(join(options.dir, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  };
  let lastFailure = '';
  // A port found free may be taken before nginx binds it: try a few.
  for (let tries = 0; tries < 5; tries++) {
    const port = await freePort();
    const file = join(options.dir, 'nginx.conf');
    writeFileSync(file, config(options, port));
    const nginx = startProcess(program, ['-e', join(options.dir, 'error.log'), '-c', file, '-p', options.dir]);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && nginx.child.exitCode === null && nginx.child.signalCode === null) {
      if (await accepts(port)) {
        return { url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`, port, errorLog, stop: () => nginx.stop() };
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    lastFailure = `${nginx.output()}\n${errorLog()}`;
    await nginx.stop();
  }
  throw new Error(`nginx did not start: ${lastFailure}`);
}
