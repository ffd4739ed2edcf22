import { describe, expect, it } from 'vitest';
import { OPTIONAL_METHODS, exposeDevice, supports, type DeviceMethods } from '../src/index.js';

const resolved = () => Promise.resolve();
const all: DeviceMethods = {
  getInfo: () => Promise.resolve({ readWrite: true, sectorSize: 512, sizeSectors: 8 }),
  read: resolved,
  write: resolved,
  disconnect: resolved,
  flush: resolved,
  discard: resolved,
  writeZeroes: resolved,
  resize: resolved,
  seekMapped: () => Promise.resolve(0),
  seekUnmapped: () => Promise.resolve(0),
};

describe('exposeDevice', () => {
  it('has each optional method exactly when its flag is set', () => {
    const some = exposeDevice(supports({ write: true, flush: true, seek: true }), all);
    expect(Object.keys(some).sort()).toEqual(['disconnect', 'flush', 'getInfo', 'read', 'seekMapped', 'seekUnmapped', 'supports', 'write']);
    const every = exposeDevice(supports({ flush: true, discard: true, writeZeroes: true, resize: true, seek: true }), all);
    for (const method of Object.keys(OPTIONAL_METHODS))
      expect(typeof (every as unknown as Record<string, unknown>)[method]).toBe('function');
  });

  it('leaves out a method it was not given, whatever the flag says', () => {
    const device = exposeDevice(supports({ flush: true }), { ...all, flush: undefined });
    expect('flush' in device).toBe(false);
  });

  it('adds the device onto a base object, keeping its getters', () => {
    let calls = 0;
    const base = {
      get count() {
        return ++calls;
      },
    };
    const device = exposeDevice(supports(), all, base);
    expect(device).toBe(base);
    expect(device.count).toBe(1);
    expect(device.count).toBe(2);
    expect(device.supports.flush).toBe(false);
    expect('flush' in device).toBe(false);
  });
});
