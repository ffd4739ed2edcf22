import { describe } from 'vitest';
import type { DeviceFactory } from './device-fixture.js';
import { badRequestTests } from './suites/bad-requests.js';
import { dataTests } from './suites/data.js';
import { disconnectTests } from './suites/disconnect.js';
import { manifestTests } from './suites/manifest.js';
import { modelTests } from './suites/model.js';
import { optionalTests } from './suites/optional.js';
import { readOnlyTests } from './suites/read-only.js';
import { seekTests } from './suites/seek.js';

export interface ConformanceOptions {
  /** Random runs of the model-based test (default 25). Raise it when hunting a bug. */
  readonly modelRuns?: number;
}

/**
 * Registers the whole conformance suite for one kind of device. `factory` is called once per test
 * and must return a fresh, isolated device of at least 32 sectors whose every sector reads zero
 * (a few hundred sectors is ideal). Tests are gated only by the device's `supports` manifest and
 * `readWrite`; call this again for each variant (sector size, read-only…).
 */
export function describeBlockDevice(name: string, factory: DeviceFactory, options: ConformanceOptions = {}): void {
  describe(`${name} conforms to the @blk BlockDevice contract`, () => {
    manifestTests(factory);
    dataTests(factory);
    badRequestTests(factory);
    readOnlyTests(factory);
    optionalTests(factory);
    seekTests(factory);
    disconnectTests(factory);
    modelTests(factory, options.modelRuns ?? 25);
  });
}
