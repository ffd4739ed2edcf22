/** An mmap made by the addon; opaque to JavaScript. */
export type Mapping = object & { readonly __mapping?: never };

export declare const abiVersion: 1;
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
