import { BlockError, type BlockDevice } from '@blk/core';
import { wrapDevice, type DeviceOperation } from './wrap-device.js';

export interface FaultCall {
  readonly op: DeviceOperation;
  readonly args: readonly unknown[];
  /** How many calls of this operation came before this one. */
  readonly index: number;
}

export interface FaultyDevice extends BlockDevice {
  /** Calls seen so far, per operation. */
  readonly counts: Readonly<Partial<Record<DeviceOperation, number>>>;
}

/**
 * Rejects the calls for which `shouldFail` answers true, before they reach the device, with
 * `makeError()` (an IO BlockError by default). Everything else passes through.
 */
export function withFaults(
  device: BlockDevice,
  shouldFail: (call: FaultCall) => boolean,
  makeError: (call: FaultCall) => Error = (call) => BlockError.io(`injected fault in ${call.op}`),
): FaultyDevice {
  const counts: Partial<Record<DeviceOperation, number>> = {};
  const wrapped = wrapDevice(device, (op, args, call) => {
    const index = counts[op] ?? 0;
    counts[op] = index + 1;
    const fault = { op, args, index };
    if (shouldFail(fault)) return Promise.reject(makeError(fault));
    return call();
  });
  return Object.assign(wrapped, { counts });
}
