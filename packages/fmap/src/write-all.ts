import { toBlockError } from '@blk/core';
import type { DeviceIo } from './device-io.js';

/** Something counting requests in flight (a RequestGate). */
interface InFlight {
  begin(): void;
  end(): void;
}

/**
 * Writes every byte of `buffers` at `position` through `io.writev`, continuing after short writes;
 * counted in `inFlight` from the first call to the last callback. Failures are IO BlockErrors.
 */
export function writeAll(
  io: DeviceIo,
  fd: number,
  position: number,
  buffers: readonly Uint8Array[],
  inFlight: InFlight,
  path: string,
): Promise<void> {
  let pending = buffers.length === 1 ? buffers : buffers.filter((b) => b.length > 0);
  let left = 0;
  for (const buffer of pending) left += buffer.length;
  if (left === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    inFlight.begin();
    let at = position;
    const step = (): void => {
      io.writev(fd, pending, at, (error, bytes) => {
        if (error) {
          inFlight.end();
          reject(toBlockError(error, `${path}: write at byte ${at}`));
          return;
        }
        left -= bytes;
        if (left <= 0) {
          inFlight.end();
          resolve();
          return;
        }
        at += bytes;
        let skip = bytes;
        const rest: Uint8Array[] = [];
        for (const b of pending) {
          if (skip >= b.length) skip -= b.length;
          else {
            rest.push(skip > 0 ? b.subarray(skip) : b);
            skip = 0;
          }
        }
        pending = rest;
        step();
      });
    };
    step();
  });
}
