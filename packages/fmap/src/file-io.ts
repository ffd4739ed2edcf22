import * as fs from 'node:fs';

/**
 * The synchronous file calls a BlockFile makes, behind one object so tests can inject faults and
 * torn writes. Each call finishes the whole transfer or throws.
 */
export interface FileIo {
  /** Reads up to `dst.length` bytes at `position`; returns how many (short only at end of file). */
  read(fd: number, dst: Uint8Array, position: number): number;
  write(fd: number, src: Uint8Array, position: number): void;
  datasync(fd: number): void;
  truncate(fd: number, length: number): void;
  size(fd: number): number;
}

export const nodeFileIo: FileIo = {
  read(fd, dst, position) {
    let done = 0;
    while (done < dst.length) {
      const n = fs.readSync(fd, dst, done, dst.length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  },
  write(fd, src, position) {
    let done = 0;
    while (done < src.length) done += fs.writeSync(fd, src, done, src.length - done, position + done);
  },
  datasync(fd) {
    fs.fdatasyncSync(fd);
  },
  truncate(fd, length) {
    fs.ftruncateSync(fd, length);
  },
  size(fd) {
    return fs.fstatSync(fd).size;
  },
};
