import { describe, expect, it } from 'vitest';
import { formatDeviceSpec, isCliError, parseDeviceSpec } from '../src/index.js';

const file = (path: string) => ({ kind: 'file', path });

function usageError(text: string): string {
  try {
    parseDeviceSpec(text);
  } catch (error) {
    expect(isCliError(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error(`'${text}' was accepted`);
}

describe('overlay:BASE+TOP', () => {
  it('splits at the + that starts a SPEC, keeping every other + in paths and URIs', () => {
    expect(parseDeviceSpec('overlay:file:base.img+file:top.img')).toEqual({
      kind: 'overlay',
      base: file('base.img'),
      top: file('top.img'),
    });
    expect(parseDeviceSpec('overlay:file:/a+b/c+d.img+fmap:x+y.fmap')).toEqual({
      kind: 'overlay',
      base: file('/a+b/c+d.img'),
      top: { kind: 'fmap', path: 'x+y.fmap' },
    });
    expect(parseDeviceSpec('overlay:nbd+unix:///gold?socket=/tmp/a+b.sock+ram:1GiB')).toMatchObject({
      base: { kind: 'nbd', parsed: { exportName: 'gold', path: '/tmp/a+b.sock' } },
      top: { kind: 'ram', bytes: 2 ** 30 },
    });
    expect(parseDeviceSpec('overlay:file:g.img+nbds+unix:///c?socket=/s')).toMatchObject({
      base: file('g.img'),
      top: { kind: 'nbd', parsed: { tls: true } },
    });
  });

  it('reads overlay:overlay:A+B+C as a chain: C over B over A', () => {
    expect(parseDeviceSpec('overlay:overlay:file:a+file:b+file:c')).toEqual({
      kind: 'overlay',
      base: { kind: 'overlay', base: file('a'), top: file('b') },
      top: file('c'),
    });
  });

  it('refuses a missing half and an ambiguous BASE with a usage error', () => {
    expect(usageError('overlay:file:a.img')).toMatch(/needs BASE\+TOP/);
    expect(usageError('overlay:')).toMatch(/needs BASE\+TOP/);
    expect(usageError('overlay:+file:b')).toMatch(/BASE is missing/);
    expect(usageError('overlay:file:a+file:b+file:c')).toMatch(/ambiguous/);
    expect(usageError('overlay:file:a+ram:big')).toMatch(/ram:big/);
    expect(usageError('overlay:file:a+file:')).toMatch(/needs a path/);
  });

  it('formats back to what it read', () => {
    for (const text of ['overlay:file:a+b.img+file:t.img', 'overlay:overlay:file:a+ram:1GiB+fmap:c', 'overlay:nbd://h:10809/x+file:t']) {
      expect(formatDeviceSpec(parseDeviceSpec(text))).toBe(text);
    }
  });
});
