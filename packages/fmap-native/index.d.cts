/** An mmap made by the addon; opaque to JavaScript. */
export type Mapping = object & { readonly __mapping?: never };

export declare const abiVersion: 3;
/** The kernel's page size (sysconf(_SC_PAGESIZE)). */
export declare const pageSize: number;
/** Where the binary came from: `built from source` at install, or `prebuilt for linux-x64` etc. */
export declare const origin: string;
/** A positioned-I/O thread pool made by `ioOpen`; opaque to JavaScript. */
export type IoEngine = object & { readonly __ioEngine?: never };
/** mmap(NULL, length, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0). */
export declare function map(fd: number, length: number): Mapping;
/** An external ArrayBuffer over [offset, offset+length) of the mapping; `unmap` detaches it. */
export declare function view(mapping: Mapping, offset: number, length: number): ArrayBuffer;
/** msync: MS_SYNC when `blocking`, else MS_ASYNC. */
export declare function sync(mapping: Mapping, offset: number, length: number, blocking: boolean): void;
/** Detaches every view, then munmap. Idempotent. */
export declare function unmap(mapping: Mapping): void;
/** lseek(SEEK_DATA): next data byte at or after `offset`, or -1 (ENXIO: none). */
export declare function seekData(fd: number, offset: number): number;
/** lseek(SEEK_HOLE): next hole byte at or after `offset`, or -1 (ENXIO: past the end). */
export declare function seekHole(fd: number, offset: number): number;
/** fallocate(PUNCH_HOLE|KEEP_SIZE); false when the file system cannot punch holes. */
export declare function punchHole(fd: number, offset: number, length: number): boolean;
/**
 * preadv2(RWF_NOWAIT): bytes read from the page cache (0 at end of file), -1 when the read would
 * wait for the disk, -2 when the kernel or file system cannot say (no RWF_NOWAIT).
 */
export declare function readNow(fd: number, buffer: Uint8Array, position: number): number;
/**
 * pwritev on the calling thread until every byte is written: the bytes written, or -1 when there
 * are more than 64 buffers (queue the write instead). Throws on failure (`code` is the errno name).
 * It may wait for the disk or for dirty-page throttling: `waited[0]` is set to the milliseconds
 * the call took when the thread slept in it (a voluntary context switch), else 0 — being
 * preempted does not count. Callers decide what they accept.
 */
export declare function writeNow(fd: number, buffers: Uint8Array | readonly Uint8Array[], position: number, waited: Float64Array): number;
/**
 * Starts `threads` (1–16) I/O threads. Finished requests are reported in batches: `completions`
 * gets (id, result) pairs — result is bytes moved, or −errno — and `onComplete(count)` is called.
 */
export declare function ioOpen(threads: number, onComplete: (count: number) => void, completions: Float64Array): IoEngine;
/**
 * Queues op 0 read (one buffer, filled until end of file), 1 write (a buffer or 1–1024 of them,
 * all written), 2 fdatasync, 3 ftruncate (`position` is the length). False when 4096 requests are
 * outstanding. The engine holds the buffers until the request is delivered.
 */
export declare function ioSubmit(
  engine: IoEngine,
  op: 0 | 1 | 2 | 3,
  fd: number,
  buffers: Uint8Array | readonly Uint8Array[] | null,
  position: number,
  id: number,
): boolean;
/** No more submissions (they throw EBADF); requests already queued still complete. Idempotent. */
export declare function ioClose(engine: IoEngine): void;
