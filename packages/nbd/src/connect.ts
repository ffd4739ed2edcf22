import { BlockError, checkSectorSize, isBlockError } from '@blk/core';
import * as net from 'node:net';
import { Channel } from './channel.js';
import { ClientConnection } from './client-connection.js';
import { clientHandshake, clientList, type ClientHandshakeOptions, type ExportDetails, type ExportListing } from './client-handshake.js';
import { DEFAULT_MAX_PAYLOAD, DEFAULT_PORT, TransmissionFlag } from './constants.js';
import { DirectReads } from './direct-reads.js';
import { NbdDevice } from './nbd-device.js';
import { clientTls, type ClientTlsOptions } from './tls-config.js';
import { parseUri } from './uri.js';

export interface ConnectOptions {
  /** An NBD URI (`nbd://host:port/name`, `nbd+unix:///name?socket=PATH`, `nbds…`); the fields below override it. */
  readonly uri?: string;
  /** Unix socket path. */
  readonly path?: string;
  readonly host?: string;
  /** Default 10809. */
  readonly port?: number;
  /** Default `''`, the default export. */
  readonly exportName?: string;
  /** TLS settings; when present (or the URI is `nbds…`) TLS is required. */
  readonly tls?: ClientTlsOptions;
  /** Negotiate structured replies (default true); false behaves like an old client. */
  readonly structuredReplies?: boolean;
  /** Select `base:allocation` so seekMapped/seekUnmapped work (default true; needs structured replies). */
  readonly blockStatus?: boolean;
  /** Connections to open when the server allows multi-conn (default 1). */
  readonly connections?: number | undefined;
  /** Sector size of the device (default the server's minimum block size, at least 512). */
  readonly sectorSize?: number;
  /** Give up on the handshake after this many ms (default 10 000). */
  readonly handshakeTimeoutMs?: number;
  /** Fail the connection when a request is not answered within this many ms (default 60 000; 0: never). */
  readonly requestTimeoutMs?: number;
  /** How long `disconnect` waits for requests in flight and for the server to close (default 5000 ms). */
  readonly closeGraceMs?: number;
  /** Send every write with FUA, so it is durable when it resolves (needs the server's SEND_FUA). */
  readonly writeThrough?: boolean;
}

interface Resolved {
  readonly path: string | undefined;
  readonly host: string | undefined;
  readonly port: number;
  readonly handshake: ClientHandshakeOptions;
  readonly connections: number;
  readonly sectorSize: number | undefined;
  readonly handshakeTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly closeGraceMs: number;
  readonly writeThrough: boolean;
}

function resolve(target: string | ConnectOptions, overrides: ConnectOptions): Resolved {
  const options: ConnectOptions = { ...(typeof target === 'string' ? { uri: target } : target), ...overrides };
  const uri = options.uri === undefined ? undefined : parseUri(options.uri);
  const path = options.path ?? uri?.path;
  const host = options.host ?? uri?.host;
  if (path === undefined && host === undefined) throw new TypeError('connect needs a uri, a path or a host');
  let tls = options.tls;
  if (!tls && uri?.tls) tls = {};
  if (tls && uri) {
    tls = {
      pskFile: uri.tlsPskFile,
      username: uri.username,
      certificates: uri.tlsCertificates,
      verifyPeer: uri.tlsVerifyPeer,
      ...tls,
    };
  }
  const structuredReplies = options.structuredReplies ?? true;
  const count = options.connections ?? 1;
  if (!Number.isSafeInteger(count) || count < 1 || count > 64) throw new TypeError('connections must be from 1 to 64');
  if (options.sectorSize !== undefined) checkSectorSize(options.sectorSize);
  return {
    path,
    host: path === undefined ? host : undefined,
    port: options.port ?? uri?.port ?? DEFAULT_PORT,
    handshake: {
      exportName: options.exportName ?? uri?.exportName ?? '',
      ...(tls ? { tls: clientTls(tls, path === undefined ? host : undefined) } : {}),
      structuredReplies,
      blockStatus: structuredReplies && (options.blockStatus ?? true),
    },
    connections: count,
    sectorSize: options.sectorSize,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
    requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
    closeGraceMs: options.closeGraceMs ?? 5000,
    writeThrough: options.writeThrough ?? false,
  };
}

function asBlockError(error: unknown, what: string): BlockError {
  if (isBlockError(error)) return error;
  if (error instanceof TypeError || error instanceof RangeError) return new BlockError('INVALID_ARGUMENT', error.message, { cause: error });
  return BlockError.io(`${what}${error instanceof Error ? `: ${error.message}` : ''}`, error);
}

/** Opens the socket and runs `negotiate` on it within the handshake timeout. */
async function negotiateOn<T>(
  config: Resolved,
  direct: DirectReads | undefined,
  negotiate: (channel: Channel) => Promise<T>,
): Promise<[Channel, T]> {
  const onread = direct ? { onread: direct.onread } : {};
  const socket =
    config.path !== undefined
      ? net.connect({ path: config.path, ...onread })
      : net.connect({ host: config.host!, port: config.port, noDelay: true, ...onread });
  const channel = new Channel(socket);
  direct?.attach(channel);
  const state = { timedOut: false };
  const timer = setTimeout(() => {
    state.timedOut = true;
    channel.destroy();
  }, config.handshakeTimeoutMs);
  try {
    const result = await negotiate(channel);
    return [channel, result];
  } catch (e) {
    channel.destroy();
    if (state.timedOut) throw BlockError.io(`the NBD handshake did not finish within ${config.handshakeTimeoutMs} ms`, e);
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

async function openConnection(config: Resolved, maxChunkBytes: number | undefined): Promise<ClientConnection> {
  // Without TLS, READ data is received straight into the caller's buffers (see DirectReads).
  const direct = config.handshake.tls ? undefined : new DirectReads();
  const [channel, details] = await negotiateOn(config, direct, (c) => clientHandshake(c, config.handshake));
  const connection = new ClientConnection(channel, details, {
    requestTimeoutMs: config.requestTimeoutMs,
    maxChunkBytes: maxChunkBytes ?? chunkLimit(requestLimit(details, config.sectorSize ?? 512)),
    closeGraceMs: config.closeGraceMs,
  });
  if (direct) {
    direct.target = () => connection.directTarget();
    direct.onDirect = (n) => {
      connection.receivedDirect(n);
    };
  }
  return connection;
}

/** The largest READ/WRITE we send: the server's maximum block size, at most 32 MiB, in whole sectors. */
function requestLimit(details: ExportDetails, sectorSize: number): number {
  const advertised = details.blockSizes?.maximum;
  const limit = advertised === undefined || advertised === 0xffffffff ? DEFAULT_MAX_PAYLOAD : Math.min(advertised, DEFAULT_MAX_PAYLOAD);
  return Math.max(sectorSize, Math.floor(limit / sectorSize) * sectorSize);
}

/** Reply chunks bigger than a full read, or a block status of 2^20 extents, are refused. */
function chunkLimit(maxRequestBytes: number): number {
  return Math.max(maxRequestBytes + 8, (1 << 23) + 4);
}

/**
 * Connects to an NBD server and returns the export as a BlockDevice. Rejects with a BlockError:
 * INVALID_ARGUMENT for a bad URI or options, or an export the server does not have; UNSUPPORTED
 * when TLS was asked for and the server refused it; IO for everything else (with the cause).
 */
export async function connect(target: string | ConnectOptions, overrides: ConnectOptions = {}): Promise<NbdDevice> {
  let config: Resolved;
  try {
    config = resolve(target, overrides);
  } catch (e) {
    throw asBlockError(e, 'invalid NBD connect options');
  }
  const connections: ClientConnection[] = [];
  try {
    const first = await openConnection(config, undefined);
    connections.push(first);
    const details = first.details;
    const minimum = details.blockSizes?.minimum ?? 1;
    const sectorSize = config.sectorSize ?? Math.max(512, minimum);
    if (sectorSize % minimum !== 0) {
      throw new BlockError('INVALID_ARGUMENT', `sector size ${sectorSize} is not a multiple of the server's minimum block size ${minimum}`);
    }
    const maxRequestBytes = requestLimit(details, sectorSize);
    if (config.connections > 1 && (details.flags & TransmissionFlag.CAN_MULTI_CONN) !== 0) {
      const more = await Promise.allSettled(
        Array.from({ length: config.connections - 1 }, () => openConnection(config, chunkLimit(maxRequestBytes))),
      );
      for (const result of more) if (result.status === 'fulfilled') connections.push(result.value);
      const failed = more.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      for (const other of connections) {
        if (other.details.size !== details.size || other.details.flags !== details.flags) {
          throw BlockError.io('the connections of one multi-conn device see different exports');
        }
      }
    }
    return new NbdDevice(config.handshake.exportName, connections, {
      sectorSize,
      maxRequestBytes,
      writeThrough: config.writeThrough,
    });
  } catch (e) {
    await Promise.all(connections.map((c) => c.disconnect()));
    throw asBlockError(e, 'could not connect to the NBD server');
  }
}

/**
 * The exports a server offers (NBD_OPT_LIST, after STARTTLS when TLS is asked for), as
 * `nbdinfo --list` shows them. Rejects like `connect`.
 */
export async function listExports(target: string | ConnectOptions, overrides: ConnectOptions = {}): Promise<ExportListing[]> {
  let config: Resolved;
  try {
    config = resolve(target, overrides);
  } catch (e) {
    throw asBlockError(e, 'invalid NBD connect options');
  }
  try {
    const [channel, exports] = await negotiateOn(config, undefined, (c) => clientList(c, config.handshake.tls));
    channel.close(config.closeGraceMs);
    await channel.whenClosed();
    return exports;
  } catch (e) {
    throw asBlockError(e, 'could not list the exports of the NBD server');
  }
}
