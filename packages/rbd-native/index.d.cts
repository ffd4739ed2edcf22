/** A librados cluster connection made by `connect`; opaque to JavaScript. */
export type Cluster = object & { readonly __cluster?: never };
/** An open RBD image made by `open`; opaque to JavaScript. */
export type Image = object & { readonly __image?: never };

/**
 * Failures reject (or throw) an Error whose `code` is the errno name librbd returned ("ENOENT",
 * "ETIMEDOUT"…) and whose `errno` is its positive number. Bad arguments throw a TypeError.
 */
export interface RbdNativeError extends Error {
  readonly code: string;
  readonly errno: number;
}

export declare const abiVersion: 1;
/** The librbd the addon runs on, e.g. "1.16.0". */
export declare const librbdVersion: string;

/**
 * rados_create(id) → read `conf` (else the default search path and CEPH_ARGS) → keyring →
 * each (name, value) of `settings` → rados_connect. Runs on the libuv thread pool.
 */
export declare function connect(
  conf: string | null,
  id: string | null,
  keyring: string | null,
  settings: readonly string[],
): Promise<Cluster>;
/** rados_shutdown. Rejects EBUSY while images are open on it; resolves at once when already shut down. */
export declare function shutdown(cluster: Cluster): Promise<void>;
/** rbd_create4 with an object size of 2^order bytes (0: the default) and feature bits (null: the default). */
export declare function createImage(
  cluster: Cluster,
  pool: string,
  namespace: string | null,
  name: string,
  sizeBytes: number,
  order: number,
  features: number | null,
): Promise<void>;
/** rbd_remove; with `purgeSnapshots` every snapshot is unprotected and removed first. */
export declare function removeImage(
  cluster: Cluster,
  pool: string,
  namespace: string | null,
  name: string,
  purgeSnapshots: boolean,
): Promise<void>;
/**
 * rbd_open (or rbd_open_read_only; at `snapshot` when given). Finished requests are reported in
 * batches: `completions` gets (id, result) pairs — result is bytes moved or 0, or −errno — and
 * `onComplete(count)` is called on the main thread.
 */
export declare function open(
  cluster: Cluster,
  pool: string,
  namespace: string | null,
  name: string,
  snapshot: string | null,
  readOnly: boolean,
  onComplete: (count: number) => void,
  completions: Float64Array,
): Promise<[Image, number]>;
/** rbd_close: waits for requests in flight (their completions are delivered first). EALREADY, EBUSY. */
export declare function close(image: Image): Promise<void>;
/** rbd_get_size. */
export declare function size(image: Image): Promise<number>;
/** rbd_resize. */
export declare function resize(image: Image, sizeBytes: number): Promise<void>;
/** 0: rbd_snap_create; 1: rbd_snap_unprotect (if protected) and rbd_snap_remove. */
export declare function snapshot(image: Image, op: 0 | 1, name: string): Promise<void>;
/**
 * rbd_diff_iterate2(from the beginning, include the parent, exact extents): the allocated
 * (offset, length) pairs in [offset, offset+length), adjacent ones merged, at most `maxExtents`.
 */
export declare function diff(image: Image, offset: number, length: number, maxExtents: number): Promise<Float64Array>;
/**
 * Submits op 0 read / 1 write (`buffers`: 1–1024 Uint8Arrays, filled or written in order) or
 * 2 flush / 3 discard / 4 write-zeroes (`buffers` null, `offset` and `length` in bytes).
 * False when 4096 requests are outstanding. The buffers must stay alive and attached until the
 * completion arrives.
 */
export declare function submit(
  image: Image,
  op: 0 | 1 | 2 | 3 | 4,
  buffers: readonly Uint8Array[] | null,
  offset: number,
  length: number,
  id: number,
): boolean;
