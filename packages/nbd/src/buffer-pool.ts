/**
 * Reply buffers for READs, reused once the socket has written them: large reads at high rates
 * otherwise allocate (and garbage-collect) a fresh buffer per request. Buffers are kept per exact
 * size, up to `maxBytes` in all; a buffer must only be given back when nothing refers to it.
 */
export class BufferPool {
  readonly #free = new Map<number, Buffer[]>();
  #pooledBytes = 0;

  constructor(readonly maxBytes: number) {}

  take(size: number): Buffer {
    const buffer = this.#free.get(size)?.pop();
    if (buffer) {
      this.#pooledBytes -= size;
      return buffer;
    }
    return Buffer.allocUnsafeSlow(size);
  }

  give(buffer: Buffer): void {
    const size = buffer.length;
    if (this.#pooledBytes + size > this.maxBytes) return;
    let list = this.#free.get(size);
    if (!list) {
      list = [];
      this.#free.set(size, list);
    }
    list.push(buffer);
    this.#pooledBytes += size;
  }
}
