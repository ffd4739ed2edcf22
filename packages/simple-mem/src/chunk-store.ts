import { BlockError, checkSectorSize, copyBytes, deviceBytes, forEachUnit, type BlockInfo } from '@blk/core';

/** Storage is allocated in chunks of this many bytes, each on its first write. */
export const CHUNK_BYTES = 16 << 20;

/**
 * The dense storage of one named device: its geometry and the 16 MiB chunks written so far.
 * Chunks are dense (a written chunk holds all 16 MiB); never-written chunks read as zero.
 */
export class ChunkStore implements BlockInfo {
  readonly readWrite = true;
  readonly #chunks: (Uint8Array | undefined)[];

  constructor(
    readonly sectorSize: number,
    readonly sizeSectors: number,
  ) {
    checkSectorSize(sectorSize);
    if (!Number.isSafeInteger(sizeSectors) || sizeSectors < 0) {
      throw new BlockError('INVALID_ARGUMENT', `sizeSectors must be a non-negative safe integer, got ${sizeSectors}`);
    }
    this.#chunks = new Array<Uint8Array | undefined>(Math.ceil(deviceBytes(this) / CHUNK_BYTES));
  }

  /** Bytes of chunk memory allocated. */
  get allocatedBytes(): number {
    return this.#chunks.reduce((n, chunk) => n + (chunk ? CHUNK_BYTES : 0), 0);
  }

  read(offset: number, buffers: readonly Uint8Array[]): void {
    for (const buffer of buffers) {
      forEachUnit(offset, buffer.byteLength, CHUNK_BYTES, (index, inChunk, n, done) => {
        const chunk = this.#chunks[index];
        if (chunk) copyBytes(chunk, buffer, done, inChunk, inChunk + n);
        else buffer.fill(0, done, done + n);
      });
      offset += buffer.byteLength;
    }
  }

  write(offset: number, buffers: readonly Uint8Array[]): void {
    for (const buffer of buffers) {
      forEachUnit(offset, buffer.byteLength, CHUNK_BYTES, (index, inChunk, n, done) => {
        const chunk = (this.#chunks[index] ??= new Uint8Array(CHUNK_BYTES));
        chunk.set(n === buffer.byteLength ? buffer : buffer.subarray(done, done + n), inChunk);
      });
      offset += buffer.byteLength;
    }
  }
}
