import type { WorkloadTarget } from '@blk/test-kit';
import { Worker } from 'node:worker_threads';

interface Reply {
  readonly id: number;
  readonly data?: Uint8Array;
  readonly error?: string;
}

/**
 * The postMessage anchor: the same requests carried between the main thread and a worker holding
 * a Ramdisk, each request and reply one structured-clone message (write data copied over, read
 * data transferred back and copied into the caller's buffer).
 */
export function postMessageTarget(sizeSectors: number): WorkloadTarget & { close(): Promise<void> } {
  const worker = new Worker(new URL('./post-message-worker.mjs', import.meta.url), { workerData: { sizeSectors } });
  const pending = new Map<number, { resolve: (reply: Reply) => void }>();
  let nextId = 0;
  worker.on('message', (reply: Reply) => {
    const entry = pending.get(reply.id);
    pending.delete(reply.id);
    entry?.resolve(reply);
  });
  const call = (message: object) =>
    new Promise<Reply>((resolve) => {
      const id = nextId++;
      pending.set(id, { resolve });
      worker.postMessage({ id, ...message });
    });
  return {
    async read(offset, buffer) {
      const reply = await call({ op: 'read', sector: offset / 512, length: buffer.byteLength });
      if (reply.error !== undefined || !reply.data) throw new Error(reply.error ?? 'no data');
      buffer.set(reply.data);
    },
    async write(offset, buffer) {
      const reply = await call({ op: 'write', sector: offset / 512, data: buffer });
      if (reply.error !== undefined) throw new Error(reply.error);
    },
    async close() {
      await worker.terminate();
    },
  };
}
