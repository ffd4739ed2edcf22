import type { BlockDevice } from '@blk/core';
import type { DeviceFactory } from './device-fixture.js';

/** Puts a device the suite can make fail (with `withFaults`) in place of a lower device. */
export type FaultyLower = (lower: BlockDevice) => BlockDevice;

export interface ConformanceOptions {
  /** Random runs of the model-based test (default 25). Raise it when hunting a bug. */
  readonly modelRuns?: number;
  /**
   * Opens the storage behind `device` again, as a new process would, after the suite has
   * disconnected it. Required for devices whose manifest says `persistent`: the suite flushes,
   * disconnects, reopens and expects the data. It should do nothing `disconnect` did not do (no
   * extra flush), so a flush that does not make data durable shows.
   */
  readonly reopen?: (device: BlockDevice) => BlockDevice | Promise<BlockDevice>;
  /**
   * For a backend that wraps another device (a mirror, a protocol client, a ring): builds the same
   * kind of fresh device as the factory, but passes the device(s) underneath through `faulty`
   * first. The suite then fails reads, writes and flushes below and checks what comes out on top.
   */
  readonly overFaults?: (faulty: FaultyLower) => BlockDevice | Promise<BlockDevice>;
  /**
   * A fresh device, reading all zeroes, of at least `LARGE_MIN_BYTES` (64 MiB), for one request of
   * more than 32 MiB in one call. When it is larger than 4 GiB + 64 MiB (a sparse device) the
   * request crosses the 4 GiB mark and the last sectors are used too.
   */
  readonly large?: DeviceFactory;
}
