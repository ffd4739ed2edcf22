import { BlockError } from '@blk/core';
import { type NativeCluster, requireNative } from './native-binding.js';
import { rbdError } from './rbd-errors.js';
import { clientId, clusterKey, settingsList, type RbdClusterOptions } from './rbd-options.js';

interface Entry {
  readonly connecting: Promise<NativeCluster>;
  users: number;
}

const clusters = new Map<string, Entry>();

/**
 * A librados connection for these options, shared with every other user of equal options in the
 * process (a connection is a few threads and sockets per monitor and OSD). Each `acquire` must
 * be paired with a `release`; the last release shuts the connection down.
 */
export async function acquireCluster(options: RbdClusterOptions): Promise<{ cluster: NativeCluster; release: () => Promise<void> }> {
  const native = requireNative();
  const key = clusterKey(options);
  let entry = clusters.get(key);
  if (!entry) {
    const connecting = native.connect(options.conf ?? null, clientId(options), options.keyring ?? null, settingsList(options));
    const created: Entry = { connecting, users: 0 };
    entry = created;
    clusters.set(key, created);
    connecting.catch(() => {
      if (clusters.get(key) === created) clusters.delete(key);
    });
  }
  entry.users++;
  const held = entry;
  let cluster: NativeCluster;
  try {
    cluster = await held.connecting;
  } catch (error) {
    held.users--;
    if (error instanceof Error && error.message.startsWith('rados_conf_read_file')) {
      throw new BlockError(
        'INVALID_ARGUMENT',
        `cannot read the Ceph config ${options.conf ?? ''}: ${error.message.slice(error.message.indexOf(':') + 2)}`,
        { cause: error },
      );
    }
    const errno = (error as { code?: string }).code;
    const hint =
      errno === 'ETIMEDOUT' || errno === 'ENOENT'
        ? ' (no monitor answered within the timeout: check conf/mon_host and that the cluster is up)'
        : errno === 'EACCES' || errno === 'EPERM'
          ? ' (check clientName and keyring)'
          : '';
    throw rbdError(error, `cannot connect to the Ceph cluster${hint}`);
  }
  let released = false;
  return {
    cluster,
    release: async () => {
      if (released) return;
      released = true;
      if (--held.users > 0) return;
      if (clusters.get(key) === held) clusters.delete(key);
      try {
        await native.shutdown(cluster);
      } catch {
        // EBUSY: another user acquired it meanwhile through a new entry is impossible (deleted
        // above), so this only happens when images were leaked without disconnect; keep it.
      }
    },
  };
}
