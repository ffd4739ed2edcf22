import { readOnlyView, type BlockDevice } from '@blk/core';
import { DEFAULT_MAX_PAYLOAD } from './constants.js';
import type { ServerTlsOptions } from './tls-config.js';

/** One export: a device plus what clients are told about it. */
export interface NbdExport {
  readonly device: BlockDevice;
  /** Shown by `nbdinfo --list` and NBD_INFO_DESCRIPTION. */
  readonly description?: string;
  /** Serve the device read-only even when it is writable. */
  readonly readOnly?: boolean;
}

export interface ServerLimits {
  /** Connections served at once (handshaking or transmitting); more are closed at once. Default 100. */
  readonly maxConnections: number;
  /**
   * Connections one TCP peer (remote address) may hold at once; more from it are closed at once.
   * Unix-socket and stdio clients are not counted per peer (the socket's file mode decides who
   * may connect). Default 16.
   */
  readonly maxConnectionsPerPeer: number;
  /**
   * A socket connection in transmission that moves no byte either way for this many ms is closed
   * (checked every quarter of it). 0 disables it. Default 300 000 (5 minutes); raise or disable
   * it for kernel clients (`nbd-client`) that keep an idle device attached.
   */
  readonly idleTimeoutMs: number;
  /**
   * Handshake replies queued for a client before the server stops reading its options until it
   * has taken them (the reply to one option may go past it). Default 64 KiB.
   */
  readonly maxHandshakeOutputBytes: number;
  /** A client must reach transmission (GO / EXPORT_NAME) within this many ms. Default 10 000. */
  readonly handshakeTimeoutMs: number;
  /** Largest option payload read during the handshake; larger gets ERR_TOO_BIG and a disconnect. Default 64 KiB. */
  readonly maxOptionBytes: number;
  /** Meta-context queries per LIST/SET option; more get ERR_TOO_BIG. Default 128. */
  readonly maxMetaContextQueries: number;
  /** Largest READ/WRITE payload (advertised as the maximum block size). Default 32 MiB. */
  readonly maxPayload: number;
  /** Requests a connection may have in flight before the server stops reading it. Default 256. */
  readonly maxInFlightRequests: number;
  /** Payload bytes in flight (and replies queued) per connection before the server stops reading it. Default 64 MiB. */
  readonly maxInFlightBytes: number;
  /** After `close()`, connections still busy are dropped after this many ms. Default 5000. */
  readonly closeGraceMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = Object.freeze({
  maxConnections: 100,
  maxConnectionsPerPeer: 16,
  idleTimeoutMs: 300_000,
  maxHandshakeOutputBytes: 64 << 10,
  handshakeTimeoutMs: 10_000,
  maxOptionBytes: 64 << 10,
  maxMetaContextQueries: 128,
  maxPayload: DEFAULT_MAX_PAYLOAD,
  maxInFlightRequests: 256,
  maxInFlightBytes: 64 << 20,
  closeGraceMs: 5000,
});

export interface NbdServerOptions {
  /** Export name → device (or export description). `''` is the default export. */
  readonly exports: Readonly<Record<string, BlockDevice | NbdExport>> | ReadonlyMap<string, BlockDevice | NbdExport>;
  readonly tls?: ServerTlsOptions | undefined;
  readonly limits?: Partial<ServerLimits>;
  /** Told about connections that ended with an error (protocol violations, socket errors). */
  readonly onError?: ((error: Error) => void) | undefined;
}

export interface ResolvedExport {
  readonly name: string;
  readonly device: BlockDevice;
  readonly description: string;
}

function isExport(value: BlockDevice | NbdExport): value is NbdExport {
  return 'device' in value && !('read' in value);
}

export function resolveExport(name: string, value: BlockDevice | NbdExport): ResolvedExport {
  if (Buffer.byteLength(name) > 4096 || name.includes('\0')) throw new RangeError(`export name '${name}' is not a valid NBD string`);
  const spec: NbdExport = isExport(value) ? value : { device: value };
  return { name, device: spec.readOnly ? readOnlyView(spec.device) : spec.device, description: spec.description ?? '' };
}

export function resolveExports(exports: NbdServerOptions['exports']): Map<string, ResolvedExport> {
  const entries =
    exports instanceof Map
      ? [...(exports as ReadonlyMap<string, BlockDevice | NbdExport>)]
      : Object.entries(exports as Readonly<Record<string, BlockDevice | NbdExport>>);
  return new Map(entries.map(([name, value]) => [name, resolveExport(name, value)]));
}

export function resolveLimits(limits: Partial<ServerLimits> = {}): ServerLimits {
  const out = { ...DEFAULT_LIMITS, ...limits };
  for (const [key, value] of Object.entries(out)) {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`limits.${key} must be a non-negative integer`);
  }
  if (out.maxPayload < 4096 || out.maxPayload > 0xffffffff) throw new RangeError('limits.maxPayload must be from 4096 to 2^32 - 1');
  if (out.maxHandshakeOutputBytes < 1) throw new RangeError('limits.maxHandshakeOutputBytes must be positive');
  if (out.maxInFlightBytes < out.maxPayload) throw new RangeError('limits.maxInFlightBytes must be at least limits.maxPayload');
  return out;
}
