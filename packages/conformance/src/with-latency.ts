import type { BlockDevice } from '@blk/core';
import { wrapDevice, type DeviceOperation } from './wrap-device.js';

export interface LatencyOptions {
  /** Upper bound of each of the two delays (before and after the real call), in milliseconds. */
  readonly maxMs: number;
  /** A source of numbers in [0, 1); pass a seeded one to make a run reproducible. */
  readonly random?: () => number;
  /** Operations to delay (default: all). */
  readonly operations?: readonly DeviceOperation[];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Delays each call by a random time before it reaches the device and again before its result is
 * returned, so requests in flight start and complete in shuffled orders.
 */
export function withLatency(device: BlockDevice, options: LatencyOptions): BlockDevice {
  const random = options.random ?? Math.random;
  const delayed = new Set(options.operations ?? []);
  return wrapDevice(device, async (op, _args, call) => {
    if (delayed.size > 0 && !delayed.has(op)) return call();
    await sleep(random() * options.maxMs);
    const result = await call();
    await sleep(random() * options.maxMs);
    return result;
  });
}
