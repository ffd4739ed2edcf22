import { toBlockError } from '@blk/core';
import * as fs from 'node:fs';

/** Called once when a call finishes: an error, or the bytes moved (0 for datasync/truncate). */
export type IoDone = (error: Error | null, bytes: number) => void;

/** Which engine a FileDevice runs its reads and writes on. */
export type IoEngineKind = 'native' | 'libuv' | 'sync';

/**
 * The positioned file calls a FileDevice makes. Callbacks rather than promises, so a request
 * costs the device one promise and no extra hops. `read` and `writev` may move fewer bytes than
 * asked; the device continues.
 */
export interface DeviceIo {
  readonly kind: IoEngineKind;
  /**
   * Reads now if that needs no wait for the disk: bytes read (0 at end of file), -1 when it would
   * wait (use `read`), -2 when this engine cannot tell (do not ask again for this file).
   */
  readNow(fd: number, dst: Uint8Array, position: number): number;
  /**
   * Writes all of `src` now, on this thread: the bytes written, -1 when not now (use `writev`),
   * -2 when this engine never does (do not ask again). It may wait (the kernel cannot promise a
   * buffered write will not), so the device calls it only for whole pages, under a stall guard
   * fed by `lastWriteWaitMs`.
   */
  writeNow(fd: number, src: readonly Uint8Array[], position: number): number;
  /** How long the last `writeNow` slept in the kernel, in ms (0: it never slept; preemption does not count). */
  readonly lastWriteWaitMs: number;
  /** The size of the page-cache pages writes land in: whole pages need nothing read first. */
  readonly pageSize: number;
  read(fd: number, dst: Uint8Array, position: number, done: IoDone): void;
  writev(fd: number, src: readonly Uint8Array[], position: number, done: IoDone): void;
  datasync(fd: number, done: IoDone): void;
  truncate(fd: number, length: number, done: IoDone): void;
}

/** libuv's thread pool: never blocks the event loop, ~20–50 µs a call on a busy 2-core VM. */
export const libuvDeviceIo: DeviceIo = {
  kind: 'libuv',
  readNow: () => -2,
  writeNow: () => -2,
  lastWriteWaitMs: 0,
  pageSize: 4096,
  read: (fd, dst, position, done) => fs.read(fd, dst, 0, dst.length, position, (e, n) => done(e, n)),
  writev: (fd, src, position, done) => fs.writev(fd, src as Uint8Array[], position, (e, n) => done(e, n)),
  datasync: (fd, done) => fs.fdatasync(fd, (e) => done(e, 0)),
  truncate: (fd, length, done) => fs.ftruncate(fd, length, (e) => done(e, 0)),
};

function now(done: IoDone, fn: () => number): void {
  let bytes: number;
  try {
    bytes = fn();
  } catch (error) {
    done(error instanceof Error ? error : toBlockError(error, 'file I/O failed'), 0);
    return;
  }
  done(null, bytes);
}

/** Blocking calls on the event loop: fast on page-cache hits, but a slow disk stalls the process. */
export const syncDeviceIo: DeviceIo = {
  kind: 'sync',
  readNow: (fd, dst, position) => fs.readSync(fd, dst, 0, dst.length, position),
  // every call of this engine already blocks: writev below is the same call
  writeNow: () => -2,
  lastWriteWaitMs: 0,
  pageSize: 4096,
  read: (fd, dst, position, done) => now(done, () => fs.readSync(fd, dst, 0, dst.length, position)),
  writev: (fd, src, position, done) => now(done, () => fs.writevSync(fd, src, position)),
  datasync: (fd, done) => now(done, () => (fs.fdatasyncSync(fd), 0)),
  truncate: (fd, length, done) => now(done, () => (fs.ftruncateSync(fd, length), 0)),
};
