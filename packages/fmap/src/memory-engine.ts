import { forEachUnit } from '@blk/core';
import type { Engine } from './engine.js';

const CHUNK_BYTES = 1 << 20;

/** Anonymous storage: chunks of memory allocated as the file grows, nothing on disk. */
export class MemoryEngine implements Engine {
  readonly kind = 'memory';
  readonly #chunks: Uint8Array[] = [];
  #capacity = 0;

  capacity(): number {
    return this.#capacity;
  }

  ensureCapacity(bytes: number): void {
    while (this.#chunks.length * CHUNK_BYTES < bytes) this.#chunks.push(new Uint8Array(CHUNK_BYTES));
    if (bytes > this.#capacity) this.#capacity = bytes;
  }

  #each(position: number, length: number, fn: (chunk: Uint8Array, at: number, done: number, n: number) => void): void {
    forEachUnit(position, length, CHUNK_BYTES, (index, within, n, done) => {
      fn(this.#chunks[index]!, within, done, n);
    });
  }

  read(position: number, dst: Uint8Array): void {
    this.#each(position, dst.length, (chunk, at, done, n) => dst.set(chunk.subarray(at, at + n), done));
  }

  write(position: number, src: Uint8Array): void {
    this.#each(position, src.length, (chunk, at, done, n) => chunk.set(src.subarray(done, done + n), at));
  }

  equals(position: number, src: Uint8Array): boolean {
    let same = true;
    this.#each(position, src.length, (chunk, at, done, n) => {
      if (same) same = Buffer.from(chunk.buffer, chunk.byteOffset + at, n).equals(src.subarray(done, done + n));
    });
    return same;
  }

  zero(position: number, length: number): void {
    this.#each(position, length, (chunk, at, _done, n) => chunk.fill(0, at, at + n));
  }

  sync(): void {
    // nothing to hand over
  }

  flush(): void {
    // nothing to make durable
  }

  writeDurable(): void {
    // anonymous files have no header on disk
  }

  truncate(bytes: number): void {
    this.#capacity = bytes;
  }

  close(): void {
    this.#chunks.length = 0;
    this.#capacity = 0;
  }
}
