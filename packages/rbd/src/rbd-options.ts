import { BlockError } from '@blk/core';

/** How to reach a cluster. Connections with equal options are shared by every device in the process. */
export interface RbdClusterOptions {
  /** A ceph.conf; without it librados reads its default search path (/etc/ceph/ceph.conf…) and CEPH_ARGS. */
  readonly conf?: string | undefined;
  /** The client name: `admin` or `client.admin` (default: librados's, `admin`). */
  readonly clientName?: string | undefined;
  /** A keyring file with the client's key (default: what the conf says). */
  readonly keyring?: string | undefined;
  /**
   * Seconds before a cluster that does not answer fails an operation with an `IO` error
   * (default 30): sets `rados_osd_op_timeout`, `rados_mon_op_timeout` and `client_mount_timeout`.
   * 0 means wait for ever (librados's own default).
   */
  readonly timeoutSeconds?: number;
  /** More librados/librbd settings, as `rados_conf_set` takes them (e.g. `{ rbd_cache: 'false' }`). */
  readonly settings?: Readonly<Record<string, string>>;
}

/** An image: its pool, optional RADOS namespace, and name. */
export interface RbdImageOptions extends RbdClusterOptions {
  readonly pool: string;
  readonly image: string;
  readonly namespace?: string | undefined;
}

export const DEFAULT_TIMEOUT_SECONDS = 30;
/** At most this many `settings` entries. */
export const MAX_SETTINGS = 28;

function checkName(value: unknown, what: string, optional: boolean): void {
  if (value === undefined && optional) return;
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024 || value.includes('\0')) {
    throw new BlockError(
      'INVALID_ARGUMENT',
      `${what} must be a non-empty string without NUL, got ${typeof value === 'string' ? JSON.stringify(value) : typeof value}`,
    );
  }
}

/** Checks the image options, before anything is sent anywhere. */
export function checkImageOptions(options: unknown): asserts options is RbdImageOptions {
  if (typeof options !== 'object' || options === null)
    throw new BlockError('INVALID_ARGUMENT', 'options must be an object with pool and image');
  const o = options as Record<string, unknown>;
  checkName(o.pool, 'pool', false);
  checkName(o.image, 'image', false);
  if (typeof o.image === 'string' && /[@/]/.test(o.image))
    throw new BlockError('INVALID_ARGUMENT', `image name ${JSON.stringify(o.image)} must not contain '@' or '/'`);
  checkName(o.namespace, 'namespace', true);
  checkName(o.conf, 'conf', true);
  checkName(o.clientName, 'clientName', true);
  checkName(o.keyring, 'keyring', true);
  const timeout = o.timeoutSeconds;
  if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 0 || timeout > 86_400)) {
    throw new BlockError('INVALID_ARGUMENT', 'timeoutSeconds must be an integer from 0 to 86400');
  }
  if (o.settings !== undefined) {
    if (typeof o.settings !== 'object' || o.settings === null)
      throw new BlockError('INVALID_ARGUMENT', 'settings must be an object of strings');
    const entries = Object.entries(o.settings);
    if (entries.length > MAX_SETTINGS) throw new BlockError('INVALID_ARGUMENT', `at most ${MAX_SETTINGS} settings`);
    for (const [key, value] of entries) {
      checkName(key, 'a setting name', false);
      if (typeof value !== 'string' || value.includes('\0')) throw new BlockError('INVALID_ARGUMENT', `setting ${key} must be a string`);
    }
  }
}

/** The client id librados wants (`admin`, not `client.admin`). */
export function clientId(options: RbdClusterOptions): string | null {
  const name = options.clientName;
  if (name === undefined) return null;
  return name.startsWith('client.') ? name.slice('client.'.length) : name;
}

/** The (name, value, …) list passed to `rados_conf_set`, timeouts first so `settings` can override them. */
export function settingsList(options: RbdClusterOptions): string[] {
  const seconds = String(options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS);
  const list = ['rados_osd_op_timeout', seconds, 'rados_mon_op_timeout', seconds, 'client_mount_timeout', seconds];
  for (const [key, value] of Object.entries(options.settings ?? {})) list.push(key, value);
  return list;
}

/** The key under which equal cluster options share one connection. */
export function clusterKey(options: RbdClusterOptions): string {
  return JSON.stringify([options.conf ?? null, clientId(options), options.keyring ?? null, settingsList(options)]);
}
