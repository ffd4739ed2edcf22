export { describeBlockDevice, type ConformanceOptions } from './describe-block-device.js';
export { MIN_SECTORS, expectSameBytes, readSectors, withDevice, type DeviceFactory } from './device-fixture.js';
export { expectBlockError } from './expect-block-error.js';
export { isZero, pattern, splitSectors } from './patterns.js';
export { withFaults, type FaultCall, type FaultyDevice } from './with-faults.js';
export { withGate, type DeviceGate } from './with-gate.js';
export { withLatency, type LatencyOptions } from './with-latency.js';
export { wrapDevice, type DeviceOperation } from './wrap-device.js';
