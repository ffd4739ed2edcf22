import type { BlockDevice } from '@blk/core';
import { wrapDevice, type DeviceOperation } from './wrap-device.js';

export interface DeviceGate {
  /** The gated device: calls that `holds` picks wait at the gate. */
  readonly device: BlockDevice;
  /** Calls held so far, including released ones. */
  readonly held: number;
  /** Calls waiting at the gate now. */
  readonly waiting: number;
  /** Resolves as soon as at least one call is waiting. */
  reached(): Promise<void>;
  /** Lets the calls waiting now through; later picked calls wait again. */
  release(): void;
  /** Lets every call through, now and from now on. */
  open(): void;
}

/**
 * Holds the calls `holds(op, args)` picks, before they reach the device or, with `after`, once
 * the device has answered and before the answer is returned, until the test releases them: a way
 * to freeze a request in flight at an exact point without timing.
 */
export function withGate(
  device: BlockDevice,
  holds: (op: DeviceOperation, args: readonly unknown[]) => boolean,
  options: { after?: boolean } = {},
): DeviceGate {
  let opened = false;
  let held = 0;
  const waiting: (() => void)[] = [];
  const watchers: (() => void)[] = [];
  const pass = (): Promise<void> => {
    if (opened) return Promise.resolve();
    held++;
    return new Promise((resolve) => {
      waiting.push(resolve);
      for (const watch of watchers.splice(0)) watch();
    });
  };
  const gated = wrapDevice(device, async (op, args, call) => {
    const hold = holds(op, args);
    if (hold && options.after !== true) await pass();
    const result = await call();
    if (hold && options.after === true) await pass();
    return result;
  });
  return {
    device: gated,
    get held() {
      return held;
    },
    get waiting() {
      return waiting.length;
    },
    reached: () => (waiting.length > 0 ? Promise.resolve() : new Promise((resolve) => watchers.push(resolve))),
    release: () => {
      for (const resolve of waiting.splice(0)) resolve();
    },
    open: () => {
      opened = true;
      for (const resolve of waiting.splice(0)) resolve();
    },
  };
}
