import RAM from 'random-access-memory';
import type { WorkloadTarget } from './block-workloads.js';

/** The random-access-memory package (the JS ecosystem's in-memory storage) as a workload target. */
export function randomAccessMemoryTarget(): WorkloadTarget {
  const ram = new RAM();
  return {
    read: (offset, buffer) =>
      new Promise((resolve, reject) => {
        ram.read(offset, buffer.byteLength, (error) => (error ? reject(error) : resolve()));
      }),
    write: (offset, buffer) =>
      new Promise((resolve, reject) => {
        ram.write(offset, buffer, (error) => (error ? reject(error) : resolve()));
      }),
  };
}
