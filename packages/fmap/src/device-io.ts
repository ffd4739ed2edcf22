import * as fs from 'node:fs';

/** The positioned file calls a FileDevice makes; `sync` and `async` flavours behave the same. */
export interface DeviceIo {
  read(fd: number, dst: Uint8Array, position: number): Promise<number>;
  writev(fd: number, src: readonly Uint8Array[], position: number): Promise<number>;
  datasync(fd: number): Promise<void>;
  truncate(fd: number, length: number): Promise<void>;
}

function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

function callback<T>(start: (done: (error: Error | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    start((error, value) => {
      if (error) reject(error);
      else resolve(value);
    });
  });
}

/** libuv's thread pool: never blocks the event loop, ~20–50 µs a call on a busy 2-core VM. */
export const asyncDeviceIo: DeviceIo = {
  read: (fd, dst, position) => callback((done) => fs.read(fd, dst, 0, dst.length, position, (e, n) => done(e, n))),
  writev: (fd, src, position) => callback((done) => fs.writev(fd, src as Uint8Array[], position, (e, n) => done(e, n))),
  datasync: (fd) => callback((done) => fs.fdatasync(fd, (e) => done(e, undefined))),
  truncate: (fd, length) => callback((done) => fs.ftruncate(fd, length, (e) => done(e, undefined))),
};

/** Blocking calls on the event loop: several times faster when the data is in the page cache. */
export const syncDeviceIo: DeviceIo = {
  read: (fd, dst, position) => settle(() => fs.readSync(fd, dst, 0, dst.length, position)),
  writev: (fd, src, position) => settle(() => fs.writevSync(fd, src as Uint8Array[], position)),
  datasync: (fd) => settle(() => fs.fdatasyncSync(fd)),
  truncate: (fd, length) => settle(() => fs.ftruncateSync(fd, length)),
};
