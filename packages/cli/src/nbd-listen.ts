import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createServer, inheritedSocketFds, parsePskFile, stdioStream, type NbdServer, type ServerTlsOptions } from '@blk/nbd';
import type { BlockDevice } from '@blk/core';
import { CliError, UsageError } from './cli-error.js';
import type { Io } from './command.js';
import { portArgument } from './command-line.js';
import { describeError } from './describe-error.js';
import type { NbdEndpoint, NbdUriTls } from './nbd-uri.js';
import { claimSocketPath } from './unix-socket.js';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 10809;

/** Where `serve` and `mirror` listen. */
export type ListenChoice =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'stdio' }
  | { readonly kind: 'inherited'; readonly fds: readonly number[] };

/** The listening and TLS options `serve` and `mirror` share, as util.parseArgs takes them. */
export const LISTEN_OPTIONS = {
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  socket: { type: 'string', short: 'U' },
  stdio: { type: 'boolean', short: 's' },
  'tls-psk': { type: 'string' },
  'tls-certificates': { type: 'string' },
  tls: { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
} as const;

export const LISTEN_HELP = `  -p, --port N            TCP port (default $BLK_PORT, else ${DEFAULT_PORT}; 0 picks a free one)
  --host HOST             address to listen on (default ${DEFAULT_HOST})
  -U, --socket PATH       listen on a Unix socket instead of TCP
  -s, --stdio             serve one client on stdin/stdout (libnbd's nbd_connect_command)
  --tls-psk FILE          TLS with pre-shared keys: identity:hexkey lines (psktool's format)
  --tls-certificates DIR  TLS with x509: DIR holds server-cert.pem, server-key.pem [, ca-cert.pem]
  --tls MODE              require (default when a TLS option is given: nothing but TLS) or on
  -v, --verbose           report clients that broke the protocol or timed out
When started by systemd-style socket activation (LISTEN_PID/LISTEN_FDS, as libnbd's
'nbdinfo -- [ blk serve … ]' does), blk serves the inherited sockets and prints nothing.`;

interface ListenValues {
  readonly port?: string | undefined;
  readonly host?: string | undefined;
  readonly socket?: string | undefined;
  readonly stdio?: boolean | undefined;
  readonly 'tls-psk'?: string | undefined;
  readonly 'tls-certificates'?: string | undefined;
  readonly tls?: string | undefined;
}

export function listenChoice(command: string, values: ListenValues, env: Io['env']): ListenChoice {
  const chosen = [values.socket !== undefined, values.stdio === true, values.port !== undefined || values.host !== undefined];
  if (chosen.filter(Boolean).length > 1) throw new UsageError(`${command}: choose one of --socket, --stdio or --port/--host`);
  if (values.socket !== undefined) {
    if (values.socket === '') throw new UsageError(`${command}: --socket needs a path`);
    return { kind: 'unix', path: values.socket };
  }
  if (values.stdio === true) return { kind: 'stdio' };
  const fds = inheritedSocketFds(env);
  if (fds.length > 0 && values.port === undefined && values.host === undefined) return { kind: 'inherited', fds };
  const envPort = env.BLK_PORT === undefined || env.BLK_PORT === '' ? undefined : env.BLK_PORT;
  const port =
    values.port !== undefined
      ? portArgument(command, values.port)
      : envPort !== undefined
        ? portArgument(`${command}: BLK_PORT`, envPort)
        : DEFAULT_PORT;
  if (values.host === '') throw new UsageError(`${command}: --host needs an address`);
  return { kind: 'tcp', host: values.host ?? DEFAULT_HOST, port };
}

/** The server's TLS settings and what a client's URI must carry, or undefined without TLS. */
export async function tlsChoice(
  command: string,
  values: ListenValues,
  cwd: string,
): Promise<{ server: ServerTlsOptions; client: NbdUriTls } | undefined> {
  const pskFile = values['tls-psk'] === undefined ? undefined : resolve(cwd, values['tls-psk']);
  const certificates = values['tls-certificates'] === undefined ? undefined : resolve(cwd, values['tls-certificates']);
  if (pskFile === undefined && certificates === undefined) {
    if (values.tls !== undefined) throw new UsageError(`${command}: --tls needs --tls-psk FILE or --tls-certificates DIR`);
    return undefined;
  }
  const mode = values.tls ?? 'require';
  if (mode !== 'require' && mode !== 'on') throw new UsageError(`${command}: bad --tls '${mode}': expected require or on`);
  let username: string | undefined;
  if (pskFile !== undefined) {
    let keys: Map<string, Buffer>;
    try {
      keys = parsePskFile(await readFile(pskFile, 'utf8'));
    } catch (error) {
      throw new CliError(`${command}: cannot use --tls-psk ${pskFile}: ${describeError(error)}`);
    }
    username = keys.keys().next().value;
    if (username === undefined) throw new CliError(`${command}: --tls-psk ${pskFile} holds no key`);
  }
  return {
    server: { mode, pskFile, certificates },
    client: { username, pskFile },
  };
}

export interface ExportEntry {
  readonly name: string;
  readonly device: BlockDevice;
  readonly description: string;
}

export interface RunningServer {
  readonly server: NbdServer;
  /** Where clients connect; empty for stdio and inherited sockets. */
  readonly endpoints: readonly NbdEndpoint[];
  /** For stdio: resolves when the one client has gone. */
  readonly finished: Promise<void> | undefined;
}

/** Creates the NBD server for the exports and starts listening as `choice` says. */
export async function startNbdServer(
  command: string,
  exports: readonly ExportEntry[],
  choice: ListenChoice,
  tls: ServerTlsOptions | undefined,
  report: ((message: string) => void) | undefined,
): Promise<RunningServer> {
  let server: NbdServer;
  try {
    server = createServer({
      exports: new Map(exports.map((e) => [e.name, { device: e.device, description: e.description }])),
      tls,
      onError: report && ((error: Error) => report(error.message)),
    });
  } catch (error) {
    throw new CliError(`${command}: ${describeError(error)}`, undefined, { cause: error });
  }
  const where = choice.kind === 'tcp' ? `${choice.host}:${choice.port}` : choice.kind === 'unix' ? choice.path : choice.kind;
  try {
    switch (choice.kind) {
      case 'stdio':
        return { server, endpoints: [], finished: server.serve(stdioStream()) };
      case 'inherited':
        for (const fd of choice.fds) await server.listen({ fd });
        return { server, endpoints: [], finished: undefined };
      case 'unix': {
        await claimSocketPath(choice.path);
        const address = await server.listen({ path: choice.path });
        return { server, endpoints: ['path' in address ? { path: address.path } : { path: choice.path }], finished: undefined };
      }
      case 'tcp': {
        const address = await server.listen({ host: choice.host, port: choice.port });
        const endpoint = 'port' in address ? { host: address.host, port: address.port } : { host: choice.host, port: choice.port };
        return { server, endpoints: [endpoint], finished: undefined };
      }
    }
  } catch (error) {
    await server.close().catch(() => undefined);
    if (error instanceof CliError) throw new CliError(`${command}: ${error.message}`, error.exitCode, { cause: error });
    throw new CliError(`${command}: cannot listen on ${where}: ${describeError(error)}`, undefined, { cause: error });
  }
}
