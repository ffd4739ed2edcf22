import { describe } from 'vitest';
import type { ConformanceOptions } from './conformance-options.js';
import type { DeviceFactory } from './device-fixture.js';
import { badRequestTests } from './suites/bad-requests.js';
import { concurrencyTests } from './suites/concurrency.js';
import { dataTests } from './suites/data.js';
import { disconnectTests } from './suites/disconnect.js';
import { durabilityTests } from './suites/durability.js';
import { faultTests } from './suites/faults.js';
import { largeTests } from './suites/large.js';
import { manifestTests } from './suites/manifest.js';
import { modelTests } from './suites/model.js';
import { optionalTests } from './suites/optional.js';
import { readOnlyTests } from './suites/read-only.js';
import { seekTests } from './suites/seek.js';

/**
 * Registers the whole conformance suite for one kind of device. `factory` is called once per test
 * and must return a fresh, isolated device of at least 32 sectors whose every sector reads zero
 * (a few hundred sectors is ideal). Tests are gated only by the device's `supports` manifest and
 * `readWrite`; call this again for each variant (sector size, read-only…). The durability tests
 * need `options.reopen` on a persistent device; the fault and large-request tests run when
 * `options.overFaults` and `options.large` are given.
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
    concurrencyTests(factory);
    durabilityTests(factory, options.reopen);
    if (options.overFaults) faultTests(options.overFaults);
    if (options.large) largeTests(options.large);
    modelTests(factory, options.modelRuns ?? 25);
  });
}
