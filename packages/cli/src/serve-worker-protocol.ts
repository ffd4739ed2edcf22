import type { ServerTlsOptions } from '@blk/nbd';
import type { PathSpec } from './device-spec.js';

/** Most extra processes `blk serve --workers` starts. */
export const MAX_SERVE_WORKERS = 16;

/** Parent → worker, sent once first. */
export interface WorkerInit {
  readonly type: 'init';
  readonly exports: readonly { readonly name: string; readonly spec: PathSpec }[];
  readonly readOnly: boolean;
  readonly tls: ServerTlsOptions | undefined;
  readonly verbose: boolean;
}

/** Parent → worker, with an accepted connection (nothing read from it yet) as the handle: serve it. */
export interface WorkerConnection {
  readonly type: 'connection';
}

/** Parent → worker: stop serving, finish requests in flight, flush, exit. */
export interface WorkerStop {
  readonly type: 'stop';
}

/** Worker → parent. */
export type WorkerReport =
  { readonly type: 'ready' } | { readonly type: 'failed'; readonly message: string } | { readonly type: 'log'; readonly message: string };

export function isWorkerReport(value: unknown): value is WorkerReport {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return v.type === 'ready' || ((v.type === 'failed' || v.type === 'log') && typeof v.message === 'string');
}
