import type { OpfsDirectoryHandle } from '../../src/index.js';

/** An error shaped like the DOMExceptions OPFS throws (Node 20 has DOMException too, but not everywhere). */
function domError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

/**
 * An OPFS directory in memory, for Node: files are growable byte arrays, a read-write handle takes
 * the file's lock as OPFS does, and `failNext` makes the next handle call throw a chosen error.
 */
export class MemoryDirectory implements OpfsDirectoryHandle {
  readonly files = new Map<string, { bytes: Uint8Array; locked: boolean }>();
  failNext: string | undefined;

  #maybeFail(): void {
    const name = this.failNext;
    this.failNext = undefined;
    if (name) throw domError(name, `injected ${name}`);
  }

  getFileHandle(name: string, options: { create?: boolean } = {}): ReturnType<OpfsDirectoryHandle['getFileHandle']> {
    let file = this.files.get(name);
    if (!file) {
      if (!options.create) return Promise.reject(domError('NotFoundError', `${name} not found`));
      file = { bytes: new Uint8Array(0), locked: false };
      this.files.set(name, file);
    }
    const entry = file;
    const fail = (): void => this.#maybeFail();
    return Promise.resolve({
      createSyncAccessHandle: (how: { mode?: string } = {}) => {
        const exclusive = how.mode !== 'read-only';
        if (entry.locked) return Promise.reject(domError('NoModificationAllowedError', 'locked'));
        if (exclusive) entry.locked = true;
        let open = true;
        const live = (): void => {
          if (!open) throw domError('InvalidStateError', 'closed');
          fail();
        };
        return Promise.resolve({
          read(buffer: Uint8Array, { at }: { at: number }) {
            live();
            const part = entry.bytes.subarray(at, at + buffer.byteLength);
            buffer.set(part);
            return part.byteLength;
          },
          write(buffer: Uint8Array, { at }: { at: number }) {
            live();
            if (!exclusive) throw domError('NoModificationAllowedError', 'read-only handle');
            if (at + buffer.byteLength > entry.bytes.byteLength) this.truncate(at + buffer.byteLength);
            entry.bytes.set(buffer, at);
            return buffer.byteLength;
          },
          truncate(size: number) {
            live();
            const bytes = new Uint8Array(size);
            bytes.set(entry.bytes.subarray(0, size));
            entry.bytes = bytes;
          },
          getSize: () => entry.bytes.byteLength,
          flush() {
            live();
            if (!exclusive) throw domError('NoModificationAllowedError', 'read-only handle');
          },
          close() {
            if (open && exclusive) entry.locked = false;
            open = false;
          },
        });
      },
    });
  }

  removeEntry(name: string): Promise<void> {
    const file = this.files.get(name);
    if (!file) return Promise.reject(domError('NotFoundError', `${name} not found`));
    if (file.locked) return Promise.reject(domError('NoModificationAllowedError', 'locked'));
    this.files.delete(name);
    return Promise.resolve();
  }
}
