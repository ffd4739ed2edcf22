import { describe, expect, it } from 'vitest';
import { OPTIONAL_METHODS, SUPPORT_FLAGS, isBlockError, supports } from '../src/index.js';

describe('supports()', () => {
  it('fills every absent flag with false and freezes the result', () => {
    const s = supports({ write: true, seek: true });
    expect(Object.keys(s).sort()).toEqual([...SUPPORT_FLAGS].sort());
    expect(s.write).toBe(true);
    expect(s.seek).toBe(true);
    expect(s.flush).toBe(false);
    expect(Object.isFrozen(s)).toBe(true);
    expect(() => {
      (s as { flush: boolean }).flush = true;
    }).toThrow(TypeError);
  });

  it('survives a JSON round trip unchanged', () => {
    const s = supports({ write: true, discard: true, discardZeroes: true });
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });

  it('refuses unknown flags, non-booleans and discardZeroes without discard', () => {
    const attempt = (partial: unknown) => {
      try {
        supports(partial as Parameters<typeof supports>[0]);
        return 'ok';
      } catch (e) {
        return isBlockError(e, 'INVALID_ARGUMENT') ? 'INVALID_ARGUMENT' : 'other';
      }
    };
    expect(attempt({ writable: true })).toBe('INVALID_ARGUMENT');
    expect(attempt({ flush: 1 })).toBe('INVALID_ARGUMENT');
    expect(attempt({ discardZeroes: true })).toBe('INVALID_ARGUMENT');
    expect(attempt({})).toBe('ok');
  });

  it('maps every optional method onto a flag', () => {
    for (const flag of Object.values(OPTIONAL_METHODS)) expect(SUPPORT_FLAGS).toContain(flag);
    expect(Object.keys(OPTIONAL_METHODS).sort()).toEqual(
      ['discard', 'flush', 'resize', 'seekMapped', 'seekUnmapped', 'writeZeroes'].sort(),
    );
  });
});
