import { nodeFileIo, type FileIo } from '../../src/file-io.js';

export class SimulatedCrash extends Error {
  override readonly name = 'SimulatedCrash';
}

interface Undo {
  readonly position: number;
  readonly before: Uint8Array;
  readonly after: Uint8Array;
}

/**
 * A FileIo that can be cut off (every later call throws, as if the process died) and that keeps
 * what each write since the last fdatasync replaced, so a test can play a power cut: any subset
 * of those writes, down to single 512-byte sectors, is rolled back.
 */
export class FaultIo implements FileIo {
  #dead = false;
  #writes = 0;
  #unsynced: Undo[] = [];
  /** Called before each write with its index and position; return a sector count to tear it there. */
  tearAt: ((index: number, position: number, length: number) => number | undefined) | undefined;
  readonly fds = new Set<number>();

  get writes(): number {
    return this.#writes;
  }

  cut(): void {
    this.#dead = true;
  }

  #alive(): void {
    if (this.#dead) throw new SimulatedCrash('process is gone');
  }

  read(fd: number, dst: Uint8Array, position: number): number {
    this.#alive();
    this.fds.add(fd);
    return nodeFileIo.read(fd, dst, position);
  }

  write(fd: number, src: Uint8Array, position: number): void {
    this.#alive();
    this.fds.add(fd);
    const index = this.#writes++;
    const tear = this.tearAt?.(index, position, src.length);
    const data = tear === undefined ? src : src.subarray(0, Math.min(src.length, tear * 512));
    const before = new Uint8Array(data.length);
    const got = nodeFileIo.read(fd, before, position);
    this.#unsynced.push({ position, before: before.subarray(0, got), after: data.slice() });
    nodeFileIo.write(fd, data, position);
    if (tear !== undefined) {
      this.cut();
      throw new SimulatedCrash(`torn write at ${position}: ${data.length} of ${src.length} bytes`);
    }
  }

  datasync(fd: number): void {
    this.#alive();
    nodeFileIo.datasync(fd);
    this.#unsynced = [];
  }

  truncate(fd: number, length: number): void {
    this.#alive();
    nodeFileIo.truncate(fd, length);
  }

  size(fd: number): number {
    this.#alive();
    this.fds.add(fd);
    return nodeFileIo.size(fd);
  }

  /**
   * Power cut: rolls back, newest first, each unsynced 512-byte sector that `lose` picks. Needs
   * the file still open (pass its fd).
   */
  losePower(fd: number, lose: (write: number, sector: number) => boolean): void {
    for (let w = this.#unsynced.length - 1; w >= 0; w--) {
      const undo = this.#unsynced[w]!;
      for (let s = 0; s * 512 < undo.after.length; s++) {
        if (!lose(w, s)) continue;
        const from = s * 512;
        const old = new Uint8Array(Math.min(512, undo.after.length - from));
        old.set(undo.before.subarray(from, from + old.length));
        nodeFileIo.write(fd, old, undo.position + from);
      }
    }
    this.#unsynced = [];
  }
}
