import { describe, expect, it } from 'vitest';
import { OPTIONAL_METHODS, isBlockError, readOnlyView } from '../src/index.js';
import { ArrayDevice } from './helpers/array-device.js';

describe('readOnlyView', () => {
  it('reads through, refuses writes with READ_ONLY and changes nothing', async () => {
    const inner = new ArrayDevice({ seek: true, writeZeroes: true, discardZeroes: true });
    inner.fill(0, 4, 1);
    const view = readOnlyView(inner);
    expect((await view.getInfo()).readWrite).toBe(false);
    expect(view.supports.write).toBe(false);
    const error: unknown = await view.write(0, [new Uint8Array(512)]).catch((e: unknown) => e);
    expect(isBlockError(error, 'READ_ONLY')).toBe(true);
    expect(inner.calls.write).toBe(0);
    const out = new Uint8Array(512);
    await view.read(0, [out]);
    expect(Buffer.compare(out, inner.bytes.subarray(0, 512))).toBe(0);
    expect(await view.seekUnmapped!(0)).toBe(4);
  });

  it('has an optional method exactly when its flag is set', () => {
    const view = readOnlyView(new ArrayDevice({ seek: true, writeZeroes: true, discardZeroes: true }));
    for (const [method, flag] of Object.entries(OPTIONAL_METHODS)) {
      expect(typeof (view as unknown as Record<string, unknown>)[method] === 'function', method).toBe(view.supports[flag]);
    }
    expect(view.supports.seek).toBe(true);
    expect(view.supports.discard).toBe(false);
  });

  it('reports DISCONNECTED before READ_ONLY once the device is gone', async () => {
    const inner = new ArrayDevice();
    const view = readOnlyView(inner);
    await view.disconnect();
    expect(inner.closed).toBe(true);
    const error: unknown = await view.write(0, [new Uint8Array(512)]).catch((e: unknown) => e);
    expect(isBlockError(error, 'DISCONNECTED')).toBe(true);
  });
});
