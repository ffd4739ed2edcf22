import { isBlockError } from '@blk/core';
import { describe, expect, it } from 'vitest';
import { pattern, withFaults, withGate, withLatency } from '../src/index.js';
import { ReferenceDevice } from './fixtures/reference-device.js';

describe('withLatency', () => {
  it('keeps the manifest and method presence, and the data', async () => {
    const inner = new ReferenceDevice(64, 'flagWithoutMethod');
    const slow = withLatency(inner, { maxMs: 2 });
    expect(slow.supports).toBe(inner.supports);
    expect('flush' in slow).toBe(false);
    expect(typeof slow.discard).toBe('function');
    await slow.write(3, [pattern(3, 2, 512)]);
    const out = new Uint8Array(1024);
    await slow.read(3, [out]);
    expect(Buffer.compare(out, pattern(3, 2, 512))).toBe(0);
  });

  it('reorders completions of concurrent requests', async () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const slow = withLatency(new ReferenceDevice(64), { maxMs: 5, random });
    const order: number[] = [];
    await Promise.all(Array.from({ length: 16 }, (_, i) => slow.read(i, [new Uint8Array(512)]).then(() => order.push(i))));
    expect(order).toHaveLength(16);
    expect(order).not.toEqual([...order].sort((a, b) => a - b));
  });
});

describe('withFaults', () => {
  it('fails exactly the chosen calls with an IO BlockError and counts calls', async () => {
    const inner = new ReferenceDevice(64);
    const faulty = withFaults(inner, ({ op, index }) => op === 'write' && index === 1);
    await faulty.write(0, [pattern(0, 1, 512)]);
    const error: unknown = await faulty.write(1, [pattern(1, 1, 512)]).catch((e: unknown) => e);
    expect(isBlockError(error, 'IO')).toBe(true);
    await faulty.write(2, [pattern(2, 1, 512)]);
    expect(faulty.counts.write).toBe(3);
    const out = new Uint8Array(512);
    await inner.read(1, [out]);
    expect(out.every((b) => b === 0)).toBe(true);
  });
});

describe('withGate', () => {
  it('holds the picked calls before the device until released, then again until opened', async () => {
    const inner = new ReferenceDevice(64);
    const gate = withGate(inner, (op, args) => op === 'write' && args[0] === 1);
    let done = false;
    const write = gate.device.write(1, [pattern(1, 1, 512)]).then(() => (done = true));
    await gate.reached();
    expect([gate.waiting, gate.held, done]).toEqual([1, 1, false]);
    const out = new Uint8Array(512);
    await inner.read(1, [out]);
    expect(out.every((b) => b === 0)).toBe(true);
    await gate.device.write(2, [pattern(2, 1, 512)]);
    gate.release();
    await write;
    const again = gate.device.write(1, [pattern(1, 1, 512, 9)]);
    await gate.reached();
    expect(gate.held).toBe(2);
    gate.open();
    await again;
    await gate.device.write(1, [pattern(1, 1, 512)]);
    expect([gate.held, gate.waiting]).toEqual([2, 0]);
  });

  it('with after, holds the answer once the device has it', async () => {
    const inner = new ReferenceDevice(64);
    const gate = withGate(inner, (op) => op === 'write', { after: true });
    const write = gate.device.write(3, [pattern(3, 1, 512)]);
    await gate.reached();
    const out = new Uint8Array(512);
    await inner.read(3, [out]);
    expect(Buffer.compare(out, pattern(3, 1, 512))).toBe(0);
    gate.open();
    await write;
  });
});
