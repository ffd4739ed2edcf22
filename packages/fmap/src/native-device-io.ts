import { constants } from 'node:os';
import { libuvDeviceIo, type DeviceIo, type IoDone } from './device-io.js';
import type { FmapNative, NativeIoEngine } from './native-binding.js';

/**
 * I/O threads of the shared pool. Two measured best for 4 KiB writes on a 2-core machine (buffered
 * writes to one file serialise on its inode lock, so more threads only add switches); raise it
 * with BLK_FMAP_IO_THREADS (1–16) for read misses on a disk that wants a deeper queue.
 */
function threadCount(): number {
  const wanted = Number(process.env.BLK_FMAP_IO_THREADS ?? 2);
  return Number.isInteger(wanted) && wanted >= 1 && wanted <= 16 ? wanted : 2;
}
/** Requests the addon accepts at once (its MAX_IN_FLIGHT); past it requests go to libuv's pool. */
const MAX_IN_FLIGHT = 4096;
/** (id, result) pairs delivered per call into JavaScript. */
const COMPLETION_PAIRS = 256;

const OP_READ = 0;
const OP_WRITE = 1;
const OP_DATASYNC = 2;
const OP_TRUNCATE = 3;
const SYSCALL = ['pread', 'pwritev', 'fdatasync', 'ftruncate'] as const;

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, value]) => [value, name]));

/** An Error shaped like Node's own system errors (code, errno, syscall). */
function systemError(errno: number, op: number): Error {
  const code = errnoNames.get(errno) ?? `E${errno}`;
  const syscall = SYSCALL[op] ?? 'io';
  return Object.assign(new Error(`${code}: ${syscall} failed (errno ${errno})`), { code, errno: -errno, syscall });
}

/**
 * The addon's engine: reads that hit the page cache complete on the calling thread (preadv2
 * RWF_NOWAIT), everything else goes to a small native thread pool shared by every device of the
 * process, whose results come back a batch per event-loop wakeup.
 */
class NativeDeviceIo implements DeviceIo {
  readonly kind = 'native';
  readonly pageSize: number;
  readonly #waited = new Float64Array(1);
  readonly #native: FmapNative;
  readonly #engine: NativeIoEngine;
  readonly #completions = new Float64Array(2 * COMPLETION_PAIRS);
  /** Per request slot: its callback and its op (the addon holds the buffers); free slots are stacked. */
  readonly #done: (IoDone | undefined)[] = [];
  readonly #op = new Uint8Array(MAX_IN_FLIGHT);
  readonly #free: number[] = [];

  constructor(native: FmapNative) {
    this.#native = native;
    this.pageSize = native.pageSize;
    for (let slot = MAX_IN_FLIGHT - 1; slot >= 0; slot--) this.#free.push(slot);
    this.#engine = native.ioOpen(threadCount(), (count) => this.#complete(count), this.#completions);
  }

  #complete(count: number): void {
    const completions = this.#completions;
    for (let i = 0; i < count; i++) {
      const slot = completions[2 * i]!;
      const result = completions[2 * i + 1]!;
      const done = this.#done[slot];
      this.#done[slot] = undefined;
      this.#free.push(slot);
      if (!done) continue;
      try {
        if (result < 0) done(systemError(-result, this.#op[slot]!), 0);
        else done(null, result);
      } catch (error) {
        // a callback that throws must not strand the rest of the batch
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  #submit(op: number, fd: number, buffers: Uint8Array | readonly Uint8Array[] | null, position: number, done: IoDone): boolean {
    const slot = this.#free.pop();
    if (slot === undefined) return false;
    let queued: boolean;
    try {
      queued = this.#native.ioSubmit(this.#engine, op, fd, buffers, position, slot);
    } catch (error) {
      this.#free.push(slot);
      throw error;
    }
    if (!queued) {
      this.#free.push(slot);
      return false;
    }
    this.#done[slot] = done;
    this.#op[slot] = op;
    return true;
  }

  readNow(fd: number, dst: Uint8Array, position: number): number {
    return this.#native.readNow(fd, dst, position);
  }

  writeNow(fd: number, src: readonly Uint8Array[], position: number): number {
    return this.#native.writeNow(fd, src.length === 1 ? src[0]! : src, position, this.#waited);
  }

  get lastWriteWaitMs(): number {
    return this.#waited[0]!;
  }

  read(fd: number, dst: Uint8Array, position: number, done: IoDone): void {
    if (!this.#submit(OP_READ, fd, dst, position, done)) libuvDeviceIo.read(fd, dst, position, done);
  }

  writev(fd: number, src: readonly Uint8Array[], position: number, done: IoDone): void {
    const buffers = src.length === 1 ? src[0]! : src;
    if (src.length > 1024 || !this.#submit(OP_WRITE, fd, buffers, position, done)) libuvDeviceIo.writev(fd, src, position, done);
  }

  datasync(fd: number, done: IoDone): void {
    if (!this.#submit(OP_DATASYNC, fd, null, 0, done)) libuvDeviceIo.datasync(fd, done);
  }

  truncate(fd: number, length: number, done: IoDone): void {
    if (!this.#submit(OP_TRUNCATE, fd, null, length, done)) libuvDeviceIo.truncate(fd, length, done);
  }
}

let shared: DeviceIo | null | undefined;

/**
 * The process's native engine, started on first use (its threads idle without holding the
 * process open); undefined when it cannot start (no threads to be had), and then libuv serves.
 */
export function nativeDeviceIo(native: FmapNative): DeviceIo | undefined {
  if (shared === undefined) {
    try {
      shared = new NativeDeviceIo(native);
    } catch {
      shared = null;
    }
  }
  return shared ?? undefined;
}
