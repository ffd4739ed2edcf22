import { nodeFileIo, type FileIo } from '../../src/file-io.js';

type Call = 'write' | 'datasync' | 'truncate';

/** A FileIo whose writes, syncs or truncates fail with EIO while the test says so (a sick disk that recovers). */
export class FailingIo implements FileIo {
  readonly failing = new Set<Call>();

  #check(call: Call): void {
    if (this.failing.has(call)) throw Object.assign(new Error(`EIO: i/o error, ${call}`), { code: 'EIO' });
  }

  read(fd: number, dst: Uint8Array, position: number): number {
    return nodeFileIo.read(fd, dst, position);
  }

  write(fd: number, src: Uint8Array, position: number): void {
    this.#check('write');
    nodeFileIo.write(fd, src, position);
  }

  datasync(fd: number): void {
    this.#check('datasync');
    nodeFileIo.datasync(fd);
  }

  truncate(fd: number, length: number): void {
    this.#check('truncate');
    nodeFileIo.truncate(fd, length);
  }

  size(fd: number): number {
    return nodeFileIo.size(fd);
  }
}
