import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';

/** Node's own ordering, taken before any test hides Buffer. */
const reference = Buffer.compare.bind(Buffer);

type BytesModule = typeof import('../src/bytes.js');

/** The module as Node loads it, and as a browser does (no Buffer global when it is imported). */
async function load(browser: boolean): Promise<BytesModule> {
  vi.resetModules();
  if (browser) vi.stubGlobal('Buffer', undefined);
  return import('../src/bytes.js');
}

afterEach(() => {
  vi.unstubAllGlobals();
});

const bytes = fc.uint8Array({ maxLength: 24 }).map((a) => a.map((b) => b % 3));

for (const browser of [false, true]) {
  describe(`compareBytes, sameBytes, concatBytes ${browser ? 'without' : 'with'} Node's Buffer`, () => {
    it("orders byte arrays exactly as Node's Buffer.compare does", async () => {
      const { compareBytes, sameBytes } = await load(browser);
      fc.assert(
        fc.property(bytes, bytes, (a, b) => {
          const expected = reference(a, b);
          expect(compareBytes(a, b)).toBe(expected);
          expect(sameBytes(a, b)).toBe(expected === 0);
        }),
      );
      expect(compareBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2, 0]))).toBe(-1);
      expect(compareBytes(new Uint8Array([2]), new Uint8Array([1, 9]))).toBe(1);
    });

    it('copies a range between views like Buffer#copy', async () => {
      const { copyBytes } = await load(browser);
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 1, maxLength: 32 }), fc.nat(), fc.nat(), fc.nat(), (source, a, b, c) => {
          const target = new Uint8Array(40).fill(9);
          const start = a % source.length;
          const end = start + (b % (source.length - start + 1));
          const at = c % (target.length - (end - start) + 1);
          const expected = target.slice();
          expected.set(source.slice(start, end), at);
          copyBytes(source, target, at, start, end);
          expect(target).toEqual(expected);
        }),
      );
    });

    it('concatenates views, respecting their offsets', async () => {
      const { concatBytes } = await load(browser);
      const backing = new Uint8Array([9, 1, 2, 3, 9]);
      expect([...concatBytes([backing.subarray(1, 4), new Uint8Array(0), new Uint8Array([4])])]).toEqual([1, 2, 3, 4]);
      expect(concatBytes([]).byteLength).toBe(0);
    });
  });
}
