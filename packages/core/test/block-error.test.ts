import { describe, expect, it } from 'vitest';
import { BLOCK_ERROR_CODES, BlockError, isBlockError, settled, thrownMessage, toBlockError } from '../src/index.js';

describe('BlockError', () => {
  it('is an Error with a name, a code and an optional cause', () => {
    const cause = new Error('disk on fire');
    const e = new BlockError('IO', 'read failed', { cause });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('BlockError');
    expect(e.code).toBe('IO');
    expect(e.cause).toBe(cause);
    expect(e.stack).toContain('read failed');
  });

  it('has factories for the common codes', () => {
    expect(BlockError.disconnected().code).toBe('DISCONNECTED');
    expect(BlockError.readOnly('export').message).toBe('export is read-only');
    expect(BlockError.unsupported('discard').code).toBe('UNSUPPORTED');
    expect(BlockError.io('boom', 1).cause).toBe(1);
  });

  it('lists exactly the seven codes of the contract', () => {
    expect([...BLOCK_ERROR_CODES].sort()).toEqual(
      ['DISCONNECTED', 'INVALID_ARGUMENT', 'INVALID_BUFFER', 'IO', 'OUT_OF_RANGE', 'READ_ONLY', 'UNSUPPORTED'].sort(),
    );
    expect(Object.isFrozen(BLOCK_ERROR_CODES)).toBe(true);
  });

  it('isBlockError recognises errors from another copy of core by shape', () => {
    const foreign = Object.assign(new Error('x'), { name: 'BlockError', code: 'READ_ONLY' });
    expect(isBlockError(foreign)).toBe(true);
    expect(isBlockError(foreign, 'READ_ONLY')).toBe(true);
    expect(isBlockError(foreign, 'IO')).toBe(false);
    expect(isBlockError(Object.assign(new Error('x'), { name: 'BlockError', code: 'NOPE' }))).toBe(false);
    expect(isBlockError({ name: 'BlockError', code: 'IO' })).toBe(false);
    expect(isBlockError(new TypeError('t'))).toBe(false);
  });

  it('toBlockError passes BlockErrors through and wraps the rest as IO with the cause', () => {
    const original = BlockError.readOnly();
    expect(toBlockError(original, 'ctx')).toBe(original);
    const raw = Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
    const wrapped = toBlockError(raw, 'reading sector 7');
    expect(wrapped.code).toBe('IO');
    expect(wrapped.message).toBe('reading sector 7: EIO: i/o error');
    expect(wrapped.cause).toBe(raw);
    expect(toBlockError('string', 'ctx').message).toBe('ctx');
  });
});

describe('thrownMessage', () => {
  it("gives an Error's message, String() of anything else, and the fallback where String() throws", () => {
    expect(thrownMessage(new RangeError('too far'))).toBe('too far');
    expect(thrownMessage('text')).toBe('text');
    expect(thrownMessage(7)).toBe('7');
    expect(thrownMessage(Symbol('s'))).toBe('Symbol(s)');
    expect(thrownMessage({ toString: () => 'custom' })).toBe('custom');
    const hostile = [
      { toString: [] },
      Object.create(null) as object,
      { toString: () => ({}) },
      {
        [Symbol.toPrimitive]: () => {
          throw new Error('no');
        },
      },
    ];
    for (const value of hostile) expect(thrownMessage(value)).toBe('a thrown value that is not an Error');
    expect(thrownMessage({ toString: [] }, 'backend failure')).toBe('backend failure');
  });
});

describe('settled', () => {
  it('resolves what the work returns and rejects what it throws', async () => {
    await expect(settled(() => 5)).resolves.toBe(5);
    const e = BlockError.readOnly();
    await expect(
      settled(() => {
        throw e;
      }),
    ).rejects.toBe(e);
    const wrapped: unknown = await settled(() => {
      // A backend bug that throws a non-Error still rejects with a BlockError.
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      throw 'text';
    }).catch((x: unknown) => x);
    expect(isBlockError(wrapped, 'IO')).toBe(true);
  });

  it('rejects (never throws) for a thrown value whose String() throws', async () => {
    const hostile = { toString: [] };
    const wrapped: unknown = await settled(() => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      throw hostile;
    }).catch((x: unknown) => x);
    expect(isBlockError(wrapped, 'IO')).toBe(true);
    expect((wrapped as Error).cause).toBe(hostile);
  });
});
